"""Pre-aggregations checked (DESIGN 13): each rollup's metrics (a derived metric through its parts) read one
built table, have its grain and dimensions, and can be re-aggregated; what a rollup answers only in part (a
distinct count only at its own grain and dimensions) is a note. The result is ``Project.rollups``."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from sqlglot import exp
from sqlglot.errors import ParseError

from app.definitions.diagnostics import Problems, did_you_mean
from app.definitions.expressions import parse_expression
from app.definitions.located import Located, Sub
from app.definitions.paths import split_as_of
from app.definitions.project import MetricVersion, Rollup
from app.definitions.spec import Entity, Metric, PreAggregation

SCHEMA = "rollup"
LAYOUT = 2  # the columns a rollup table has (part_columns): a new layout is a new table
ROWS = ("calculation_method", "expression", "timestamp", "filters", "non_additive_dimension", "window")


def part_columns(m: MetricVersion) -> list[str]:
    """The rollup columns holding a metric: its value columns, the rows of its table (its filters applied) in
    the group (``__n``: a group another metric of the rollup has, this one may not have), and for a
    semi-additive metric the snapshot each row was taken at."""
    return value_columns(m) + [f"{m.name}__n"] + ([f"{m.name}__snap"] if m.spec.non_additive_dimension else [])


def value_columns(m: MetricVersion) -> list[str]:
    """The columns a metric's value is re-aggregated from: its aggregate, or an average's sum and count."""
    return [f"{m.name}__sum", f"{m.name}__count"] if m.spec.calculation_method == "average" else [m.name]


def reaggregation(m: MetricVersion) -> str:
    """How a metric's values in a rollup combine into a coarser period or fewer dimensions: ``sum``, ``min``,
    ``max``, ``average`` (its sums over its counts), or ``as_is`` (a distinct count or median: read one row per
    group, at the rollup's own dimensions). A distinct count of a snapshot table's key (the table tests
    ``unique: [key, snapshot]``) counts each row of a snapshot once: it adds up across dimensions."""
    method = m.spec.calculation_method
    if method in ("sum", "count"):
        return "sum"
    if method in ("min", "max", "average"):
        return str(method)
    return "sum" if method == "count_distinct" and _key_of_snapshot(m) else "as_is"


def exact_only(m: MetricVersion) -> bool:
    """Read as it is, and not semi-additive: answered only at the rollup's own grain and dimensions (a
    semi-additive one at any coarser grain too: one snapshot's rows are never combined across time)."""
    return reaggregation(m) == "as_is" and m.spec.non_additive_dimension is None


def _key_of_snapshot(m: MetricVersion) -> bool:
    nad = m.spec.non_additive_dimension
    if nad is None or nad.window_groupings or m.table is None:
        return False
    try:
        counted = parse_expression(str(m.spec.expression))
    except ParseError:
        return False
    if not isinstance(counted, exp.Column):
        return False
    key = {counted.name.lower(), nad.name.lower()}
    return any(t.unique is not None and {c.lower() for c in t.unique} == key for t in m.table.spec.tests)


class RollupChecker:
    """Checks the ``pre_aggregations`` of entities and metrics; ``rollups`` holds those that passed."""

    def __init__(
        self,
        entities: Mapping[str, Located[Entity]],
        metrics: Mapping[str, Located[Metric]],
        resolved: Mapping[str, MetricVersion],
        problems: Problems,
    ):
        self.resolved = resolved
        self.entities = entities
        self.failed = set(metrics) - set(resolved)
        self.problems = problems
        self.rollups: dict[str, Rollup] = {}
        declared: list[tuple[Located[Entity] | Located[Metric], int, PreAggregation]] = []
        for entity in entities.values():
            declared += [(entity, i, p) for i, p in enumerate(entity.spec.pre_aggregations)]
        for metric in metrics.values():
            declared += [(metric, i, p) for i, p in enumerate(metric.spec.pre_aggregations)]
        seen: set[str] = set()
        for item, i, spec in declared:
            sub: Sub = ("pre_aggregations", i)
            if spec.name in seen:
                problems.report(item, (*sub, "name"), f"pre-aggregation '{spec.name}' is declared twice; rename one")
                continue
            seen.add(spec.name)
            rollup = self._check(item, sub, spec)
            if rollup is not None:
                self.rollups[spec.name] = rollup

    def _check(self, item: Located[Entity] | Located[Metric], sub: Sub, spec: PreAggregation) -> Rollup | None:
        before = len(self.problems)
        owner = item.spec
        names = spec.metrics or ((owner.name,) if isinstance(owner, Metric) else ())
        if not names:
            self.problems.report(item, (*sub, "metrics"), "list the metrics this pre-aggregation holds")
            return None
        base: dict[str, MetricVersion] = {}
        for j, name in enumerate(names):
            if name in self.failed:  # defined, but its own problems were reported
                return None
            if name not in self.resolved:
                self.problems.report_unknown(
                    item,
                    (*sub, "metrics", j),
                    f"unknown metric '{name}'. {did_you_mean(name, self.resolved)}",
                    name=name,
                )
                continue
            for m in self._parts(self.resolved[name]):
                base.setdefault(m.name, m)
        if not base:
            return None
        tables = {(m.table.entity, m.table.key) for m in base.values() if m.table is not None}
        stamps = {m.spec.timestamp for m in base.values()}
        if len(tables) > 1 or len(stamps) > 1:
            read = ", ".join(
                f"{m.name} reads {m.table.name if m.table else '-'}.{m.spec.timestamp}" for m in base.values()
            )
            self.problems.report(item, (*sub, "metrics"), f"a pre-aggregation reads one table by one time: {read}")
            return None
        first = next(iter(base.values()))
        assert first.table is not None
        if isinstance(owner, Entity) and first.table.entity != owner.name:
            self.problems.report(
                item,
                (*sub, "metrics"),
                f"{first.name} reads entity {first.table.entity}; declare this pre-aggregation there or on the metric",
            )
        if first.table.spec.build is None:
            self.problems.report(
                item,
                (*sub, "metrics"),
                f"{first.table.name} has no build: a pre-aggregation is refreshed when the builds rebuild its table",
            )
        notes = [note for m in base.values() for note in self._metric(item, sub, spec, m)]
        self._columns(item, sub, spec, list(base.values()))
        if len(self.problems) != before:
            return None
        reached = _entities_reached(self.entities, first.table.entity, spec.dimensions)
        physical = _physical(spec, base, [self.entities[e].spec for e in reached])
        return Rollup(spec, f"{item.kind[:-1]}:{owner.name}", tuple(base), first.table, physical, tuple(notes))

    def _parts(self, m: MetricVersion) -> list[MetricVersion]:
        """A metric read from a table, or the parts a derived metric is computed from."""
        if m.table is not None:
            return [m]
        return [p for name in m.depends_on if name in self.resolved for p in self._parts(self.resolved[name])]

    def _metric(
        self, item: Located[Entity] | Located[Metric], sub: Sub, spec: PreAggregation, m: MetricVersion
    ) -> list[str]:
        """Problems of one metric in a rollup; the notes on what the rollup answers of it."""
        report = self.problems.report
        if not m.grains:
            report(item, (*sub, "metrics"), f"{m.name} has no timestamp: a pre-aggregation holds periods")
            return []
        if spec.grain not in m.grains:
            report(item, (*sub, "grain"), f"{m.name} has no grain '{spec.grain}' (its grains: {', '.join(m.grains)})")
        nad = m.spec.non_additive_dimension
        if nad is not None and nad.window_groupings:
            report(
                item,
                (*sub, "metrics"),
                f"{m.name} takes its last snapshot per {', '.join(nad.window_groupings)}: a rollup by other "
                "dimensions cannot pick it again; leave it out",
            )
        for j, dim in enumerate(spec.dimensions):
            name, current = split_as_of(dim)
            if current:
                report(
                    item, (*sub, "dimensions", j), f"'{dim}': a rollup holds each row's value at its time, not @current"
                )
            elif name not in m.answers and name not in (m.spec.dimensions or ()):  # a declared path that
                # failed to resolve was reported with the metric
                report(
                    item,
                    (*sub, "dimensions", j),
                    f"dimension '{dim}' is not a dimension of {m.name}. {did_you_mean(name, m.answers)}",
                )
        if reaggregation(m) == "as_is":
            what = "a distinct count" if m.spec.calculation_method == "count_distinct" else "a median"
            dims = ", ".join(spec.dimensions) or "no dimension"
            by = f"by {spec.grain}" if exact_only(m) else f"by {spec.grain} or coarser"
            return [f"{m.name} is {what}: {spec.name} answers it only {by} with exactly its dimensions ({dims})"]
        return []

    def _columns(
        self, item: Located[Entity] | Located[Metric], sub: Sub, spec: PreAggregation, base: list[MetricVersion]
    ) -> None:
        seen: dict[str, str] = {"period": "the period"}
        columns = [(d, f"dimension {d}") for d in spec.dimensions]
        columns += [(c, f"metric {m.name}") for m in base for c in part_columns(m)]
        for column, what in columns:
            if column in seen:
                self.problems.report(
                    item, (*sub, "dimensions"), f"{what} and {seen[column]} would share the column '{column}'"
                )
            seen.setdefault(column, what)


def _entities_reached(entities: Mapping[str, Located[Entity]], start: str, dimensions: tuple[str, ...]) -> list[str]:
    """The entities a rollup's rows read: its metrics' and those its dimension paths go through."""
    found = {start}
    for dim in dimensions:
        at = start
        for part in dim.split(".")[:-1]:
            if at not in entities:
                break
            hop = next((r.entity for r in entities[at].spec.relationships if r.name == part), None)
            at = hop or (part if part in entities else at)
            found.add(at)
    return sorted(e for e in found if e in entities)


def _physical(spec: PreAggregation, base: Mapping[str, MetricVersion], reached: list[Entity]) -> str:
    """``rollup.<name>_<hash>``: a new definition of its rows (its metrics, or the tables, histories and
    relationships of the entities it reads) is a new table, never stale rows under a new shape."""
    skip = {"description", "meta", "deprecation", "pre_aggregations"}
    body = {
        "layout": LAYOUT,
        "entities": [e.model_dump(mode="json", exclude=skip) for e in reached],
        "rollup": spec.model_dump(mode="json", exclude={"refresh"}),
        "metrics": {
            n: m.spec.model_dump(mode="json", include=set(ROWS)) | {"table": m.table.name if m.table else None}
            for n, m in sorted(base.items())
        },
    }
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:8]
    return f"{SCHEMA}.{spec.name}_{digest}"
