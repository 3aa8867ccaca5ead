"""The steps after the scans: combine them, compute derived metrics, compare, fill, order and page."""

from __future__ import annotations

from sqlglot import exp

from app.compiler import build as b
from app.compiler.context import QueryContext
from app.compiler.periods import period_type
from app.compiler.scans import Scan
from app.compiler.shape import placeholder
from app.compiler.spine import spine_join
from app.compiler.template import OutputColumn
from app.definitions.diagnostics import did_you_mean
from app.definitions.expressions import derived_sql, parse_expression
from app.definitions.paths import path_of, split_as_of
from app.definitions.project import MetricVersion
from app.errors import InvalidQuery

JSON_TYPES = {
    "VARCHAR": "string",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "INTEGER": "number",
    "BIGINT": "number",
    "DOUBLE": "number",
    "FLOAT": "number",
    "SMALLINT": "number",
    "TINYINT": "number",
    "HUGEINT": "number",
}


def combine(ctx: QueryContext, scan_names: list[str], scans: list[Scan]) -> str:
    """Scans stacked with UNION ALL and collapsed per (period, dimensions): a period missing from one
    metric is kept with NULL for it (no FULL OUTER JOIN chains)."""
    metric_names = [m.name for s in scans for m in s.metrics]
    if len(scan_names) == 1:
        return scan_names[0]
    parts = []
    for name, scan in zip(scan_names, scans, strict=True):
        own = {m.name for m in scan.metrics}
        parts.append(
            b.select(
                ctx.keys() + [b.alias(b.col(n) if n in own else b.cast(exp.Null(), "DOUBLE"), n) for n in metric_names],
                b.table(name),
            )
        )
    stacked: exp.Expr = parts[0]
    for part in parts[1:]:
        stacked = exp.Union(this=stacked, expression=part, distinct=False)
    stacked_name = ctx.add(f"{ctx.prefix}stacked", stacked)
    combined = b.select(
        ctx.keys() + [b.alias(exp.Max(this=b.col(n)), n) for n in metric_names],
        b.table(stacked_name),
        group_by=ctx.keys(),
    )
    return ctx.add(f"{ctx.prefix}combined", combined)


def result(ctx: QueryContext, source: str, requested: list[MetricVersion]) -> str:
    """Each requested metric as a DOUBLE; derived metrics computed over their parents' columns."""
    select = b.select(
        ctx.keys() + [b.alias(b.cast(_metric_expr(ctx, m), "DOUBLE"), m.name) for m in requested],
        b.table(source),
    )
    return ctx.add(f"{ctx.prefix}result", select)


def _metric_expr(ctx: QueryContext, m: MetricVersion) -> exp.Expr:
    if m.table is not None:
        return b.col(m.name)
    tree = parse_expression(derived_sql(str(m.spec.expression)))

    def swap(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Column):
            return exp.Paren(this=_metric_expr(ctx, ctx.project.metric(node.name)))
        if isinstance(node, exp.Div):  # a zero denominator yields NULL, never an error
            return exp.Div(
                this=node.this, expression=exp.Nullif(this=node.expression, expression=exp.Literal.number(0))
            )
        return node

    return exp.Paren(this=tree.transform(swap, copy=False))


def output_columns(ctx: QueryContext, requested: list[MetricVersion]) -> list[OutputColumn]:
    cols = []
    if ctx.q.grain:
        cols.append(OutputColumn("period", period_type(ctx.q.grain).lower()))
    for dim in ctx.q.dimensions:
        cols.append(OutputColumn(dim, _dim_type(ctx, requested, dim)))
    cols += [OutputColumn(m.name, "number") for m in requested]
    return cols


def _dim_type(ctx: QueryContext, requested: list[MetricVersion], dim: str) -> str:
    """The JSON type of a dimension: the database's type of its column, else its declared type."""
    for base in ctx.base_metrics(requested).values():
        assert base.table is not None
        path = path_of(ctx.project, base.table, split_as_of(dim)[0])
        for t in (path.table, ctx.project.current_table(path.entity)):
            if t.types and path.column in t.types:
                kind = t.types[path.column]
                return JSON_TYPES.get(kind.split("(")[0], "number" if "DECIMAL" in kind else "string")
        for d in ctx.project.entities[path.entity].dimensions:
            if d.name == path.column:
                return {"integer": "number"}.get(d.type, d.type)
    return "string"


def compare(
    ctx: QueryContext, source: str, requested: list[MetricVersion], columns: list[OutputColumn], prior: str | None
) -> tuple[str, list[OutputColumn]]:
    """Each period joined to the one before it (or a year before): <metric>_prior, _change, _change_pct.
    ``prior`` (compare_to=same_days) holds each period's prior already, keyed by the period itself."""
    grain = ctx.q.grain
    assert grain is not None, "compare needs a grain (checked by the query model)"
    back = ctx.comparison_shift()
    target = b.col("period", "cur") if prior else ctx.calendar.moved(b.col("period", "cur"), back, grain, back=True)
    on = b.and_(
        [b.eq(b.col("period", "prev"), target)]
        + [exp.NullSafeEQ(this=b.col(d, "cur"), expression=b.col(d, "prev")) for d in ctx.dims]
    )
    fields: list[exp.Expr] = list(ctx.keys("cur"))
    extra: list[OutputColumn] = []
    for m in requested:
        cur, prev = b.col(m.name, "cur"), b.col(m.name, "prev")
        change = exp.Sub(this=cur, expression=prev)
        pct = exp.Mul(
            this=exp.Div(
                this=exp.Paren(this=change.copy()),
                expression=exp.Nullif(this=exp.Abs(this=prev.copy()), expression=exp.Literal.number(0)),
            ),
            expression=exp.Literal.number(100),
        )
        fields += [
            b.alias(cur.copy(), m.name),
            b.alias(prev.copy(), f"{m.name}_prior"),
            b.alias(change, f"{m.name}_change"),
            b.alias(pct, f"{m.name}_change_pct"),
        ]
        extra += [OutputColumn(f"{m.name}_{suffix}", "number") for suffix in ("prior", "change", "change_pct")]
    start = ctx.bounds.start_key(grain)
    where = [exp.GTE(this=b.col("period", "cur"), expression=start)] if ctx.q.start else []
    select = b.select(
        fields,
        b.table(source, "cur"),
        joins=[b.join(b.table(prior or source, "prev"), on, side="LEFT")],
        where=where,
    )
    return ctx.add("compared", select), columns + extra


def fill(ctx: QueryContext, source: str, metrics: list[str], combos: str | None = None) -> str:
    """Every period from ``start`` (less what a comparison reads before it) to ``end`` for every
    dimension combination present (in ``combos`` when given), before derived metrics and comparisons
    are computed: a ratio of filled zeros is NULL, and a filled period still compares with its real prior."""
    q, grain = ctx.q, ctx.q.grain
    assert grain is not None, "fill needs a grain (checked by the query model)"
    reach = 0 if ctx.shift is not None else ctx.compare_days()  # the prior side is keyed by the answer's periods
    lo = ctx.calendar.bound_key(ctx.earliest(reach), grain) if q.start else None
    hi = ctx.bounds.end_key(grain) if q.end else None
    return spine_join(
        ctx,
        f"{ctx.prefix}filled",
        source,
        key="period",
        step=grain,
        lo=lo,
        hi=hi,
        values=metrics,
        zero=q.fill == "zero",
        combos=combos,
        clamp=True,
    )


def final(ctx: QueryContext, source: str, columns: list[OutputColumn]) -> tuple[exp.Select, list[OutputColumn]]:
    """The answer's columns under their public names (a fiscal period's name beside its start), ordered,
    with LIMIT/OFFSET placeholders; and those columns."""
    q = ctx.q
    internal = {d: ctx.dims[i] for i, d in enumerate(q.dimensions)}
    fields: list[exp.Expr] = []
    for c in columns:
        inner = internal.get(c.name, c.name)
        fields.append(b.alias(b.col(inner), c.name) if inner != c.name else b.col(c.name))
    told = q.grain == "hour" and ctx.calendar.zone is not None  # keyed by its UTC start, told in the zone
    if told:
        fields[0] = b.alias(ctx.calendar.told(b.col("period", source)), "period")
    label = ctx.calendar.label(b.col("period"), q.grain) if q.grain else None
    if label is not None:
        fields.insert(1, b.alias(label, "fiscal_period"))
        columns = [columns[0], OutputColumn("fiscal_period", "string"), *columns[1:]]
    select = b.select(fields, b.table(source))
    names = [c.name for c in columns]
    order = []
    for item in q.order_items:
        if item.column not in names:
            raise InvalidQuery(
                f"Cannot order by '{item.column}': not a column of the result. {did_you_mean(item.column, names)}"
            )
        column = (
            b.col(item.column, source)
            if told and item.column == "period"
            else b.col(internal.get(item.column, item.column))
        )
        order.append(exp.Ordered(this=column, desc=item.descending, nulls_first=False))
    ordered = {o.this.name for o in order}
    # a told hour is text: its instant orders it (the two 02:00 of a night the clocks go back)
    keys = ctx.keys(source) if told else ctx.keys()
    order += [exp.Ordered(this=key, nulls_first=False) for key in keys if key.name not in ordered]
    if order:
        select.set("order", exp.Order(expressions=order))
    if q.limit is not None:
        select.set("limit", exp.Limit(expression=placeholder("lim")))
    select.set("offset", exp.Offset(expression=placeholder("off")))
    return b.with_ctes(select, ctx.ctes), columns
