"""One pass over a metric table: the period, dimensions and one aggregate per metric, as CTEs.

A scan serves the metrics that share a table, filters, snapshot rule and window. Plain scans
group rows; semi-additive scans keep only each period's latest (or earliest) snapshot; window
scans roll per-period aggregates over a RANGE frame.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlglot import exp

from app.compiler import build as b
from app.compiler.context import QueryContext
from app.compiler.filters import resolve_where
from app.compiler.joins import JoinPlan
from app.compiler.periods import DAYS_IN, UTC_COPY, interval
from app.compiler.reaggregate import RollupReader, reaggregate
from app.compiler.spine import spine_join
from app.compiler.zones import stored_timestamps
from app.definitions.expressions import parse_expression
from app.definitions.project import BoundTable, MetricVersion, grain_rank
from app.definitions.spec import Filter, Window

AGGREGATES: dict[str, type[exp.Func]] = {
    "sum": exp.Sum,
    "count": exp.Count,
    "average": exp.Avg,
    "min": exp.Min,
    "max": exp.Max,
    "median": exp.Median,
}
WINDOW_COMBINE: dict[str, type[exp.Func]] = {"sum": exp.Sum, "count": exp.Sum, "min": exp.Min, "max": exp.Max}
OPERATORS: dict[str, type[exp.Expr]] = {
    "=": exp.EQ,
    "!=": exp.NEQ,
    "<>": exp.NEQ,
    "<": exp.LT,
    "<=": exp.LTE,
    ">": exp.GT,
    ">=": exp.GTE,
    "like": exp.Like,
    "ilike": exp.ILike,
}


@dataclass(frozen=True)
class Scan:
    """Metrics sharing one table, filters, snapshot rule and window."""

    metrics: tuple[MetricVersion, ...]

    @property
    def table(self) -> BoundTable:
        table = self.metrics[0].table
        assert table is not None, "a scan reads a table"
        return table


def group_scans(base: list[MetricVersion]) -> list[Scan]:
    """Metrics over the same table with the same filters, snapshot rule and window share a scan."""
    groups: dict[tuple[Any, ...], list[MetricVersion]] = {}
    for m in base:
        s = m.spec
        table = m.table
        assert table is not None
        key = (table.entity, table.key, s.timestamp, s.filters, s.non_additive_dimension, s.window)
        groups.setdefault(key, []).append(m)
    return [Scan(tuple(metrics)) for metrics in groups.values()]


class Reader(Protocol):
    """Where a scan's rows come from: a metric's table with the joins its columns need (JoinPlan), or a
    rollup of it (RollupReader)."""

    joins: dict[str, exp.Join]

    @property
    def source(self) -> str: ...

    def reads(self) -> set[str]: ...

    def column(self, name: str) -> exp.Expr: ...


@dataclass(frozen=True)
class _Rows:
    """What every kind of scan reads: the joins, the row conditions, dimensions and per-row values."""

    name: str
    plan: Reader
    timestamp: Callable[[], exp.Expr]
    snapshot: Callable[[], exp.Expr]  # the column a semi-additive scan takes each period's last (or first) of
    defined: list[exp.Expr]  # the time bounds and the definition's filters
    where: exp.Expr | None  # the query's where
    dims: list[exp.Expr]
    values: list[tuple[MetricVersion, list[exp.Expr]]]  # each metric's per-row inputs
    combine: Callable[[MetricVersion, list[exp.Expr]], exp.Expr]  # the inputs' columns -> the metric's aggregate

    def source(self) -> exp.Table:
        return b.table(self.plan.source, "t")

    @property
    def conditions(self) -> list[exp.Expr]:
        return self.defined + ([self.where] if self.where is not None else [])

    def aggregates(
        self, inputs: Callable[[MetricVersion, list[exp.Expr]], list[exp.Expr]] | None = None
    ) -> list[exp.Expr]:
        """Each metric's aggregate under its name, over its inputs (or what ``inputs`` makes of them)."""
        return [b.alias(self.combine(m, inputs(m, v) if inputs else v), m.name) for m, v in self.values]


def scan_cte(ctx: QueryContext, index: int, scan: Scan, where: exp.Expr | None) -> str:
    """Add the CTEs of one scan; return the name of the one holding (period, dimensions, metrics). The tables it
    reads are added to ``ctx.reads``."""
    spec = scan.metrics[0].spec
    timestamp = spec.timestamp or ""
    plan: Reader
    if ctx.rollup is not None:
        reader = RollupReader(ctx.rollup)
        plan, ts, snap = reader, reader.period, lambda: reader.snapshot(scan.metrics[0])
        values = [(m, reader.inputs(m)) for m in scan.metrics]
        combine: Callable[[MetricVersion, list[exp.Expr]], exp.Expr] = reaggregate
    else:
        joined = plan = JoinPlan(ctx.project, scan.table, spec.timestamp, ctx.calendar)
        nad = spec.non_additive_dimension

        def ts() -> exp.Expr:
            return joined.column(timestamp)

        def snap() -> exp.Expr:
            return joined.column(nad.name if nad else timestamp)

        values = [(m, [_value(joined, m)]) for m in scan.metrics]
        combine = aggregate_inputs
    rows = _Rows(
        f"{ctx.prefix}scan_{index}",
        plan,
        ts,
        snap,
        _conditions(ctx, plan, ts, scan),
        exp.Paren(this=resolve_where(where, plan.column)) if where is not None else None,
        [plan.column(d) for d in ctx.q.dimensions],
        values,
        combine,
    )
    if spec.window is not None:
        name = _window_scan(ctx, rows, spec.window)
    elif spec.non_additive_dimension is not None:
        name = _snapshot_scan(ctx, rows, scan)
    else:
        name = _plain_scan(ctx, rows)
    ctx.reads |= plan.reads()
    return name


def _plain_scan(ctx: QueryContext, rows: _Rows) -> str:
    """Rows grouped by period and dimensions."""
    keys = ([ctx.period_of(rows.timestamp())] if ctx.q.grain else []) + rows.dims
    select = b.select(
        [b.alias(k, n) for k, n in zip(keys, ctx.key_names(), strict=True)] + rows.aggregates(),
        rows.source(),
        joins=rows.plan.joins.values(),
        where=rows.conditions,
        group_by=[k.copy() for k in keys],
    )
    return ctx.add(rows.name, select)


def _snapshot_scan(ctx: QueryContext, rows: _Rows, scan: Scan) -> str:
    """Semi-additive: only the rows of the latest (or earliest) snapshot within each period."""
    nad = scan.metrics[0].spec.non_additive_dimension
    assert nad is not None
    grain, plan, name = ctx.q.grain, rows.plan, rows.name
    keys = ([ctx.period_of(rows.timestamp())] if grain else []) + rows.dims
    key_names = ctx.key_names()
    groupings = [plan.column(g) for g in nad.window_groupings]
    inputs = {m.name: [f"__v_{m.name}_{i}" for i in range(len(v))] for m, v in rows.values}
    select_rows = b.select(
        [b.alias(k, n) for k, n in zip(keys, key_names, strict=True)]
        + [b.alias(g, f"__g{i}") for i, g in enumerate(groupings)]
        + [b.alias(rows.snapshot(), "__snap")]
        + [b.alias(x, n) for m, v in rows.values for x, n in zip(v, inputs[m.name], strict=True)],
        rows.source(),
        joins=plan.joins.values(),
        where=rows.conditions,
    )
    ctx.add(f"{name}_rows", select_rows)
    part = (["period"] if grain else []) + [f"__g{i}" for i in range(len(groupings))]
    pick = exp.Max if nad.window_choice == "max" else exp.Min
    # each period's snapshot is chosen before the query's where: a where answer equals the matching rows
    # of the grouped answer (a customer who left a tier mid-period is not counted under it at its end)
    part_keys = ([ctx.period_of(rows.timestamp())] if grain else []) + [plan.column(g) for g in nad.window_groupings]
    last = b.select(
        [b.alias(k, p) for k, p in zip(part_keys, part, strict=True)] + [b.alias(pick(this=rows.snapshot()), "__snap")],
        rows.source(),
        joins=[j.copy() for j in plan.joins.values()],
        where=[c.copy() for c in rows.defined],
        group_by=[k.copy() for k in part_keys],
    )
    ctx.add(f"{name}_last", last)
    on = b.and_([b.eq(b.col(p, "r"), b.col(p, "l")) for p in part] + [b.eq(b.col("__snap", "r"), b.col("__snap", "l"))])
    select = b.select(
        [b.alias(b.col(k, "r"), k) for k in key_names]
        + rows.aggregates(lambda m, _: [b.col(n, "r") for n in inputs[m.name]]),
        b.table(f"{name}_rows", "r"),
        joins=[b.join(b.table(f"{name}_last", "l"), on)],
        group_by=[b.col(k, "r") for k in key_names],
    )
    return ctx.add(name, select)


def _window_scan(ctx: QueryContext, rows: _Rows, window: Window) -> str:
    """Rolling window over per-period aggregates (never raw rows joined to a date spine)."""
    grain, name = ctx.q.grain, rows.name
    step = window_step(grain, window)
    per = b.select(
        [b.alias(ctx.calendar.key(rows.timestamp(), step), "__p")]
        + [b.alias(d, n) for d, n in zip(rows.dims, ctx.dims, strict=True)]
        + rows.aggregates(),
        rows.source(),
        joins=rows.plan.joins.values(),
        where=rows.conditions,
        group_by=[ctx.calendar.key(rows.timestamp(), step)] + [d.copy() for d in rows.dims],
    )
    source = ctx.add(f"{name}_per", per)
    if ctx.q.fill != "none":  # every period feeds the window, so a period without rows has its trailing value
        hi = ctx.bounds.end_key(step) if ctx.q.end else None
        values = [m.name for m, _ in rows.values]
        source = spine_join(
            ctx, f"{name}_full", source, key="__p", step=step, lo=None, hi=hi, values=values, zero=False
        )
    rolled_values = []
    for m, _ in rows.values:
        frame = exp.WindowSpec(
            kind="RANGE",
            start=exp.Sub(this=interval(window.count, window.period), expression=ctx.calendar.step(step)),
            start_side="PRECEDING",
            end="CURRENT ROW",
        )
        rolled = exp.Window(
            this=WINDOW_COMBINE[m.spec.calculation_method](this=b.col(m.name)),
            partition_by=[b.col(d) for d in ctx.dims] or None,
            order=exp.Order(expressions=[exp.Ordered(this=b.col("__p"))]),
            spec=frame,
        )
        rolled_values.append(b.alias(rolled, m.name))
    ctx.add(
        f"{name}_rolled",
        b.select([b.col("__p"), *(b.col(d) for d in ctx.dims), *rolled_values], b.table(source)),
    )
    keys = ([b.alias(ctx.coarsen(b.col("__p"), step, grain), "period")] if grain else []) + [b.col(d) for d in ctx.dims]
    # trim the rows only the window needed; keep those a comparison still reads
    earliest = ctx.calendar.bound_key(ctx.earliest(ctx.compare_days()), step)
    where = [exp.GTE(this=b.col("__p"), expression=earliest)] if ctx.q.start else []
    qualify = None
    if grain != step:  # the window's value at the last sub-period of each coarser period
        part = ([ctx.coarsen(b.col("__p"), step, grain)] if grain else []) + [b.col(d) for d in ctx.dims]
        qualify = b.eq(b.col("__p"), exp.Window(this=exp.Max(this=b.col("__p")), partition_by=part or None))
    select = b.select(
        keys + [b.col(m.name) for m, _ in rows.values], b.table(f"{name}_rolled"), where=where, qualify=qualify
    )
    return ctx.add(name, select)


def window_step(grain: str | None, window: Window) -> str:
    """The periods a window is rolled over: the query's grain, or the window's period when coarser."""
    return grain if grain and grain_rank(grain) <= grain_rank(window.period) else window.period


def _conditions(ctx: QueryContext, plan: Reader, ts: Callable[[], exp.Expr], scan: Scan) -> list[exp.Expr]:
    """The time bounds and the definition's filters (the query's where is applied beside them)."""
    q = ctx.q
    spec = scan.metrics[0].spec
    out: list[exp.Expr] = []
    if ctx.shift is not None:
        out = _prior_bounds(ctx, ts, scan)
    elif q.start is not None:
        days = ctx.compare_days()
        if spec.window is not None:  # a window reads before start, to fill its first windows
            days += DAYS_IN[spec.window.period] * spec.window.count
            out.append(exp.GTE(this=ts(), expression=ctx.earliest(days)))
        elif not days:  # start is exact: a period only partly inside the range counts from start
            out.append(exp.GTE(this=ts(), expression=ctx.bounds.start()))
        else:  # the periods a comparison reads, whole; and the first period from start
            out.append(exp.GTE(this=ts(), expression=ctx.earliest(days)))
            first = ctx.bounds.start_of_period(q.grain)
            out.append(
                exp.Paren(
                    this=exp.Or(
                        this=exp.GTE(this=ts(), expression=ctx.bounds.start()),
                        expression=exp.LT(this=ts(), expression=first),
                    )
                )
            )
    if q.end is not None:
        out.append(ctx.bounds.end_condition(ts()))
    if ctx.shift is None and not isinstance(plan, RollupReader):
        out += _stored_bounds(ctx, scan)
    if isinstance(plan, RollupReader):  # filtered when it was built: the groups where the metric has rows
        out.append(plan.present(scan.metrics[0]))
    else:
        out += [_filter(plan, flt) for flt in spec.filters or ()]
    return out


def _stored_bounds(ctx: QueryContext, scan: Scan) -> list[exp.Expr]:
    """In a zone, the bounds again on the stored (UTC) timestamp, a day wider than any offset: the wall
    time is computed, so only these let DuckDB skip the row groups outside the range."""
    q, spec = ctx.q, scan.metrics[0].spec
    if ctx.calendar.zone is None or not spec.timestamp or spec.timestamp not in stored_timestamps(scan.table):
        return []
    stored = b.col(UTC_COPY + spec.timestamp, "t")
    out: list[exp.Expr] = []
    if q.start is not None:
        days = ctx.compare_days() + (DAYS_IN[spec.window.period] * spec.window.count if spec.window else 0)
        lo = b.cast(ctx.earliest(days) if days else ctx.bounds.start(), "TIMESTAMP")
        out.append(exp.GTE(this=stored, expression=exp.Sub(this=lo, expression=interval(1, "day"))))
    if q.end is not None:
        hi = exp.Add(this=b.cast(ctx.bounds.end(), "TIMESTAMP"), expression=interval(2, "day"))
        out.append(exp.LT(this=stored.copy(), expression=hi))
    return out


def _prior_bounds(ctx: QueryContext, ts: Callable[[], exp.Expr], scan: Scan) -> list[exp.Expr]:
    """The prior side of ``compare_to=same_days``: a row counts for the period it is the prior of, when
    moved forward by the comparison's shift it lands on a day that period covers (from ``start``,
    through ``end``, before the end of the table's data). Whole periods compare whole."""
    assert ctx.shift is not None
    q = ctx.q
    moved = exp.Add(this=b.cast(ts(), "TIMESTAMP"), expression=ctx.shift.copy())
    out: list[exp.Expr] = []
    if q.start is not None:
        out.append(exp.GTE(this=ts(), expression=ctx.earliest(ctx.compare_days())))  # whole periods, for pruning
        out.append(exp.GTE(this=moved, expression=b.cast(ctx.bounds.start(), "TIMESTAMP")))
    if q.end is not None:  # ``ts`` within ``end`` too (pruning); the outer step adds it for the answer's side
        out.append(ctx.bounds.end_condition(moved.copy()))
    out.append(exp.LT(this=moved.copy(), expression=exp.Subquery(this=data_end(scan, str(q.grain)))))
    return out


def data_end(scan: Scan, grain: str) -> exp.Select:
    """One row, ``data_end``: the instant the scan's table stops covering, the end of the period holding
    its latest row; NULL for an empty table. The period is the table's finest (a monthly table covers
    its last month), but never finer than a day unless the query asks for hours (a quiet evening is not
    missing data)."""
    finest = min(scan.metrics[0].grains, key=grain_rank)
    if grain_rank(finest) < grain_rank("day") and grain != "hour":
        finest = "day"
    latest = exp.Max(this=b.col(str(scan.metrics[0].spec.timestamp), "t"))
    end = exp.Add(this=b.cast(b.date_trunc(latest, finest), "TIMESTAMP"), expression=interval(1, finest))
    return b.select([b.alias(end, "data_end")], b.table(scan.table.name, "t"))


def _value(plan: Reader, m: MetricVersion) -> exp.Expr:
    """The per-row expression of a metric, columns qualified by the table alias."""
    raw = m.spec.expression
    if raw is None or str(raw).strip() == "*":
        return exp.Star()
    return parse_expression(str(raw)).transform(
        lambda n: plan.column(n.name) if isinstance(n, exp.Column) else n, copy=False
    )


def aggregate_inputs(m: MetricVersion, inputs: list[exp.Expr]) -> exp.Expr:
    return aggregate(m, inputs[0])


def aggregate(m: MetricVersion, value: exp.Expr) -> exp.Expr:
    method = m.spec.calculation_method
    if method == "count_distinct":
        return exp.Count(this=exp.Distinct(expressions=[value]))
    if method == "count" and isinstance(value, exp.Star):
        return exp.Count(this=exp.Star())
    return AGGREGATES[method](this=value)


def _filter(plan: Reader, flt: Filter) -> exp.Expr:
    """A definition's filter as a condition (its values were checked to be literals at load time)."""
    column = plan.column(flt.field)
    value = flt.value
    op = flt.operator
    if op in ("is", "is not"):
        target = exp.Null() if value in (None, "null", "NULL") else exp.Boolean(this=value in (True, "true"))
        test: exp.Expr = exp.Is(this=column, expression=target)
        return exp.Not(this=test) if op == "is not" else test
    if op in ("in", "not in"):
        if isinstance(value, tuple):
            literals = [_literal(plan, v) for v in value]
        else:
            parsed = parse_expression(str(value))
            literals = parsed.expressions if isinstance(parsed, exp.Tuple) else [parsed.unnest()]
        test = exp.In(this=column, expressions=literals)
        return exp.Not(this=test) if op == "not in" else test
    return OPERATORS[op](this=column, expression=_literal(plan, value))


def _literal(plan: Reader, value: Any) -> exp.Expr:
    """A filter's value: a literal, or a column of the table (validation allowed nothing else)."""
    if isinstance(value, bool | int | float):
        return exp.convert(value)
    parsed = parse_expression(str(value))
    return plan.column(parsed.name) if isinstance(parsed, exp.Column) else parsed
