"""A spine of periods: a row for every period in a range, for every combination of dimensions present."""

from __future__ import annotations

from sqlglot import exp

from app.compiler import build as b
from app.compiler.context import QueryContext
from app.compiler.periods import period_type


def spine_join(
    ctx: QueryContext,
    name: str,
    source: str,
    *,
    key: str,
    step: str,
    lo: exp.Expr | None,
    hi: exp.Expr | None,
    values: list[str],
    zero: bool,
    combos: str | None = None,
    clamp: bool = False,
) -> str:
    """``source`` with a row for every ``step`` period from ``lo`` to ``hi`` (None: the data's first or
    last ``key``) and every combination of the query's dimensions it holds (or ``combos`` holds); a
    missing value is NULL, or 0 when ``zero``. Adds the CTEs ``{name}_bounds``, ``{name}_spine``,
    ``{name}_combos`` and ``{name}``. With ``clamp``, a range open on one side is also bounded by the
    data on the other (``start=0001-01-01`` without ``end`` starts at the data's first period)."""
    first: exp.Expr = lo if lo is not None else exp.Min(this=b.col(key))
    last: exp.Expr = hi if hi is not None else exp.Max(this=b.col(key))
    if clamp and lo is not None and hi is None:
        first = exp.Greatest(this=lo, expressions=[exp.Min(this=b.col(key))])
    if clamp and hi is not None and lo is None:
        last = exp.Least(this=hi, expressions=[exp.Max(this=b.col(key))])
    bounds = exp.Select(
        expressions=[b.alias(b.cast(first, "TIMESTAMP"), "lo"), b.alias(b.cast(last, "TIMESTAMP"), "hi")]
    )
    if lo is None or hi is None:  # a bound from the data: one aggregate row
        bounds.set("from_", exp.From(this=b.table(source)))
    ctx.add(f"{name}_bounds", bounds)
    series = exp.Unnest(
        expressions=[exp.GenerateSeries(start=b.col("lo"), end=b.col("hi"), step=ctx.calendar.step(step))]
    )
    ctx.add(f"{name}_spine", b.select([b.alias(b.cast(series, period_type(step)), key)], b.table(f"{name}_bounds")))
    joins = []
    if ctx.dims:
        ctx.add(f"{name}_combos", b.select([b.col(d) for d in ctx.dims], b.table(combos or source), distinct=True))
        joins.append(b.join(b.table(f"{name}_combos", "c"), kind="CROSS"))
    on = b.and_(
        [b.eq(b.col(key, "r"), b.col(key, "s"))]
        + [exp.NullSafeEQ(this=b.col(d, "r"), expression=b.col(d, "c")) for d in ctx.dims]
    )
    joins.append(b.join(b.table(source, "r"), on, side="LEFT"))
    filled = [b.alias(_zero(b.col(v, "r")) if zero else b.col(v, "r"), v) for v in values]
    select = b.select(
        [b.col(key, "s"), *(b.col(d, "c") for d in ctx.dims), *filled], b.table(f"{name}_spine", "s"), joins=joins
    )
    return ctx.add(name, select)


def _zero(value: exp.Column) -> exp.Expr:
    return exp.Coalesce(this=value, expressions=[exp.Literal.number(0)])
