"""The loaded, validated definitions: lookups with did-you-mean, and the project hash."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from app.definitions.diagnostics import did_you_mean
from app.definitions.spec import GRAINS, Entity, Metric, PreAggregation, Table
from app.errors import InvalidQuery, UnknownEntity, UnknownMetric

if TYPE_CHECKING:
    from app.definitions.builds import BuildGraph


@dataclass(frozen=True)
class Source:
    """Where a definition was written."""

    file: str
    line: int


@dataclass(frozen=True)
class BoundTable:
    """A physical table of an entity, with what is known of it."""

    entity: str
    key: str  # the entity's name for this grain: current, history, daily, ...
    spec: Table
    finest_grain: str | None  # None: any grain (event tables or unknown)
    columns: frozenset[str] | None  # None: not known (no database at hand)
    types: dict[str, str] | None = None  # column -> database type, when a catalog was given

    @property
    def name(self) -> str:
        return self.spec.name

    def has(self, column: str) -> bool:
        return self.columns is None or column.lower() in self.columns


@dataclass(frozen=True)
class History:
    """An SCD type 2 table of an entity: each row valid from ``valid_from`` to ``valid_to`` (exclusive, NULL
    while current). Joined dimensions of the entity are read from it as of each metric row's timestamp."""

    table: BoundTable
    valid_from: str
    valid_to: str


@dataclass(frozen=True)
class MetricVersion:
    """One served version of a metric, with its references resolved."""

    spec: Metric  # for an older version: the current spec with that version's overrides
    table: BoundTable | None  # None for derived metrics
    grains: tuple[str, ...]
    dimensions: tuple[str, ...]
    depends_on: tuple[str, ...]  # metrics a derived metric reads
    sunset_date: date | None = None  # of this version (previous versions only)
    # the same dimensions by entity-qualified names (customer.customer_tier for customer_tier of customers)
    qualified: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def answers(self) -> tuple[str, ...]:
        """Every dimension name this metric answers: as declared, then entity-qualified."""
        return self.dimensions + self.qualified

    @property
    def version(self) -> int:
        return self.spec.version


@dataclass(frozen=True)
class Rollup:
    """A pre-aggregation (DESIGN 13), checked: the base metrics it holds (a derived metric's parts), over one
    table, by ``dimensions`` at ``grain``; built into ``physical``, whose name changes with its definition."""

    spec: PreAggregation
    declared_in: str  # "entity:devices" or "metric:mrr"
    metrics: tuple[str, ...]  # base metrics (a derived metric's parts in its place)
    table: BoundTable  # the table its metrics read
    physical: str  # rollup.<name>_<hash of what defines its rows>
    notes: tuple[str, ...] = ()  # what it answers only in part (a distinct count only at its grain)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def dimensions(self) -> tuple[str, ...]:
        return self.spec.dimensions

    @property
    def grain(self) -> str:
        return self.spec.grain


@dataclass
class Project:
    """Every entity and metric (all served versions), validated and resolved."""

    entities: dict[str, Entity]
    metrics: dict[str, MetricVersion]  # current versions
    previous: dict[str, dict[int, MetricVersion]] = field(default_factory=dict)
    sources: dict[str, Source] = field(default_factory=dict)  # "metric:mrr", "entity:teams"
    files: dict[str, str] = field(default_factory=dict)  # relative path -> text
    hash: str = ""
    tables: dict[tuple[str, str], BoundTable] = field(default_factory=dict)  # (entity, key) -> table
    cache: dict[str, Any] = field(default_factory=dict, repr=False)  # per-load caches (compiled shapes)
    warnings: list[str] = field(default_factory=list)  # "file:line: key: message" of what validated with a note
    # (metric, version) -> the day it was first served, from the registry (empty without a database)
    deployed: dict[tuple[str, int], date] = field(default_factory=dict)
    builds: BuildGraph | None = None  # built table -> the tables it reads (set by the loader)
    rollups: dict[str, Rollup] = field(default_factory=dict)  # pre-aggregations by name

    def metric(self, name: str, version: int | None = None) -> MetricVersion:
        """The metric ``name`` (current version unless ``version`` is given).

        Raises UnknownMetric with suggestions, or InvalidQuery for a version not served.
        """
        current = self.metrics.get(name)
        if current is None:
            raise UnknownMetric(f"Unknown metric '{name}'. {did_you_mean(name, self.metrics)}")
        if version is None or version == current.version:
            return current
        older = self.previous.get(name, {})
        if version not in older:
            served = sorted([current.version, *older])
            raise InvalidQuery(
                f"Metric '{name}' has no served version {version}. Served versions: {', '.join(map(str, served))}."
            )
        return older[version]

    def entity(self, name: str) -> Entity:
        try:
            return self.entities[name]
        except KeyError:
            hint = did_you_mean(name, self.entities)
            raise UnknownEntity(f"Unknown entity '{name}'. {hint}") from None

    def current_table(self, entity: str) -> BoundTable:
        """The entity's current-state table (or its first table)."""
        return self.tables[(entity, current_key(self.entity(entity)) or "")]

    def history(self, entity: str) -> History | None:
        """The entity's SCD type 2 table: one declaring ``valid_to``, else the one keyed ``history`` when it
        has the columns valid_from (or its ``timestamp``) and valid_to."""
        tables = [t for (e, _), t in self.tables.items() if e == entity]
        for t in tables:
            if t.spec.valid_to and t.spec.timestamp:
                return History(t, t.spec.timestamp, t.spec.valid_to)
        for t in tables:
            valid_from = t.spec.timestamp or "valid_from"
            if t.key == "history" and t.columns is not None and t.has(valid_from) and t.has("valid_to"):
                return History(t, valid_from, "valid_to")
        return None

    def versions(self, name: str) -> list[MetricVersion]:
        """Every served version of a metric, oldest first."""
        current = self.metric(name)
        return [*sorted(self.previous.get(name, {}).values(), key=lambda m: m.version), current]


def current_key(entity: Entity) -> str | None:
    """The key of the entity's current-state table: ``current``, else its first table; None without tables."""
    return "current" if "current" in entity.tables else next(iter(entity.tables), None)


def grain_rank(grain: str) -> int:
    """Finer grains rank lower; a fiscal quarter or year ranks with the calendar one."""
    return GRAINS.index({"fiscal_quarter": "quarter", "fiscal_year": "year"}.get(grain, grain))
