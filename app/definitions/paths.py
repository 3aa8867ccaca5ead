"""Relationship paths: ``team.customer.sales_region`` resolved to its hops, tables and cardinality.

The one place a dimension path is walked. Validation, the compiler's joins and output types,
impact analysis and lineage all call ``resolve_path``; its errors share one style (a sentence
that ends in a full stop and says what would be right).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from app.definitions.diagnostics import did_you_mean
from app.definitions.project import BoundTable, Project
from app.definitions.spec import Entity, Relationship


class EntityModel(Protocol):
    """What a path is resolved against: entity specs and each entity's current-state table."""

    @property
    def entities(self) -> Mapping[str, Entity]: ...

    def current_table(self, entity: str) -> BoundTable | None: ...


class PathError(ValueError):
    """A dimension path that cannot be reached; the message is one sentence with a full stop."""

    def __init__(self, message: str, entities: tuple[str, ...], *, unknown_entity: str | None = None):
        super().__init__(message)
        self.entities = entities  # the entities walked before the path failed
        self.unknown_entity = unknown_entity  # a relationship points to an entity not defined anywhere


@dataclass(frozen=True)
class Hop:
    """One relationship followed: from ``source`` to the related entity's current table."""

    source: str
    relationship: Relationship
    table: BoundTable

    @property
    def target(self) -> str:
        return self.relationship.entity


@dataclass(frozen=True)
class DimensionPath:
    """Where a dimension (or a column of the metric's own entity) is read from."""

    dimension: str
    start: BoundTable  # the metric's table
    hops: tuple[Hop, ...]
    column: str
    table: BoundTable  # the table holding ``column``
    through_key: bool  # the start entity's current table is joined on its primary key (for the column or first key)
    expression: str | None = None  # a computed dimension: SQL over columns of its entity, each reached like one

    @property
    def entity(self) -> str:
        return self.hops[-1].target if self.hops else self.start.entity

    @property
    def cardinality(self) -> Literal["one", "many"]:
        """'one' when every start row meets at most one row of ``table``; 'many' when a hop fans out."""
        return "many" if any(h.relationship.type == "one_to_many" for h in self.hops) else "one"

    @property
    def joined_tables(self) -> tuple[BoundTable, ...]:
        """Tables joined to the start table to read the column, in join order."""
        own = (self.table,) if self.through_key and not self.hops else ()
        return own + tuple(h.table for h in self.hops)


CURRENT = "@current"


def split_as_of(name: str) -> tuple[str, bool]:
    """A dimension name and whether it asks for today's value (``customer.customer_tier@current``)
    rather than the value valid at each metric row's timestamp (the default where history exists).

    >>> split_as_of("customer.customer_tier@current")
    ('customer.customer_tier', True)
    """
    if name.endswith(CURRENT):
        return name[: -len(CURRENT)], True
    return name, False


def entity_aliases(model: EntityModel, entity: str) -> list[str]:
    """The names that qualify an entity's own columns: its name, and every name other entities give
    it through a many_to_one or one_to_one relationship (``customer`` for customers).

    So ``customer.customer_tier`` is one spelling for metrics of customers and of subscriptions alike.
    """
    names = {entity}
    for spec in model.entities.values():
        names |= {r.name for r in spec.relationships if r.entity == entity and r.type != "one_to_many"}
    return sorted(names)


def path_of(project: Project, start: BoundTable, dimension: str) -> DimensionPath:
    """``resolve_path`` remembered for the loaded ``project`` (its entities and tables never change), failures
    too: the compiler asks for the same few paths on every query it plans."""
    known: dict[tuple[str, str, str], DimensionPath | PathError] = project.cache.setdefault("paths", {})
    key = (start.entity, start.name, dimension)
    found = known.get(key)
    if found is None:
        try:
            found = resolve_path(project, start, dimension)
        except PathError as err:
            found = err
        known[key] = found
    if isinstance(found, PathError):
        raise PathError(str(found), found.entities, unknown_entity=found.unknown_entity)
    return found


def resolve_path(model: EntityModel, start: BoundTable, dimension: str, *, fan_out: bool = False) -> DimensionPath:
    """Resolve ``dimension`` (``column`` or ``relationship.….column``) from the table ``start``.

    A column (or the first relationship's key) missing from ``start`` is read from its entity's
    current table, joined on the primary key. Raises PathError for an unknown relationship or
    entity, a one_to_many hop (unless ``fan_out``) or a column that no reachable table has.
    """
    *names, column = dimension.split(".")
    start_spec = model.entities.get(start.entity)
    own_rels = {r.name for r in start_spec.relationships} if start_spec else set()
    if len(names) == 1 and names[0] not in own_rels and names[0] in entity_aliases(model, start.entity):
        names = []  # entity-qualified: a column of the start entity itself
    own = _OwnColumns(model, start)
    entity = start.entity
    walked: tuple[str, ...] = (entity,)
    hops: list[Hop] = []
    for name in names:
        spec = model.entities.get(entity)
        rels = {r.name: r for r in spec.relationships} if spec else {}
        rel = rels.get(name)
        if rel is None:
            hint = did_you_mean(name, rels)
            raise PathError(f"entity '{entity}' has no relationship '{name}'. {hint}".rstrip(), walked)
        if rel.type == "one_to_many" and not fan_out:
            raise PathError(
                f"relationship '{name}' of '{entity}' is one_to_many, so grouping by it would fan out and "
                "double-count. Only many_to_one and one_to_one paths can be dimensions.",
                walked,
            )
        table = model.current_table(rel.entity) if rel.entity in model.entities else None
        if table is None:
            raise PathError(
                f"relationship '{name}' of '{entity}' points to unknown entity '{rel.entity}'.",
                walked,
                unknown_entity=rel.entity,
            )
        if not hops and rel.type != "one_to_many" and not own.reach(rel.foreign_key):
            raise PathError(
                f"foreign key '{rel.foreign_key}' of relationship '{name}' is not a column of {start.name}.", walked
            )
        hops.append(Hop(entity, rel, table))
        entity = rel.entity
        walked += (entity,)
    computed = _computed(model, entity, column)
    if computed is not None:  # its columns are reached one by one, each a path of its own
        return DimensionPath(dimension, start, tuple(hops), column, hops[-1].table if hops else start, False, computed)
    if hops:
        holder = hops[-1].table
        if holder.has(column):
            return DimensionPath(dimension, start, tuple(hops), column, holder, own.joined)
    elif own.reach(column):
        return DimensionPath(dimension, start, (), column, own.holder(column), own.joined)
    else:
        holder = start
    spec = model.entities.get(entity)
    choices = ({d.name for d in spec.dimensions} if spec else set()) | set(holder.columns or ())
    raise PathError(f"'{column}' is not a column of {holder.name}. {did_you_mean(column, choices)}".rstrip(), walked)


def _computed(model: EntityModel, entity: str, name: str) -> str | None:
    spec = model.entities.get(entity)
    return next((d.expression for d in spec.dimensions if d.name == name and d.expression), None) if spec else None


class _OwnColumns:
    """Columns of the start table, or of its entity's current table joined on the primary key."""

    def __init__(self, model: EntityModel, start: BoundTable):
        self.start = start
        spec = model.entities.get(start.entity)
        current = model.current_table(start.entity)
        joinable = spec is not None and current is not None and start.has(spec.primary_key)
        self.current = current if joinable else None
        self.joined = False  # whether a column was reached through the current table

    def reach(self, column: str) -> bool:
        if self.start.has(column):
            return True
        if self.current is not None and self.current.has(column):
            self.joined = True
            return True
        return False

    def holder(self, column: str) -> BoundTable:
        return self.start if self.start.has(column) or self.current is None else self.current
