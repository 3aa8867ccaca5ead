"""Reading a rollup in place of its table: its columns, and each metric's aggregate re-aggregated from them
(sums and counts add up, an average is its sums over its counts, minima and maxima of minima and maxima; a
distinct count or median is read as it is, at the rollup's own grain and dimensions)."""

from __future__ import annotations

from sqlglot import exp

from app.compiler import build as b
from app.definitions.project import MetricVersion, Rollup
from app.definitions.rollups import reaggregation, value_columns

ALIAS = "t"


class RollupReader:
    """The rows of a rollup: ``period``, its dimensions by name, and each metric's part columns."""

    def __init__(self, rollup: Rollup):
        self.rollup = rollup
        self.joins: dict[str, exp.Join] = {}

    @property
    def source(self) -> str:
        return self.rollup.physical

    def reads(self) -> set[str]:
        return {self.rollup.physical}

    def column(self, name: str) -> exp.Column:
        return b.col(name, ALIAS)

    def period(self) -> exp.Expr:
        return b.col("period", ALIAS)

    def snapshot(self, m: MetricVersion) -> exp.Expr:
        return b.col(f"{m.name}__snap", ALIAS)

    def inputs(self, m: MetricVersion) -> list[exp.Expr]:
        return [b.col(c, ALIAS) for c in value_columns(m)]

    def present(self, m: MetricVersion) -> exp.Expr:
        """The rows of the rollup where ``m``'s table has rows (its filters applied)."""
        return exp.GT(this=b.col(f"{m.name}__n", ALIAS), expression=exp.Literal.number(0))


def reaggregate(m: MetricVersion, inputs: list[exp.Expr]) -> exp.Expr:
    """A metric's aggregate over rollup rows, from its part columns."""
    how = reaggregation(m)
    if how == "sum":
        return exp.Sum(this=inputs[0])
    if how == "min":
        return exp.Min(this=inputs[0])
    if how == "average":
        total, count = exp.Sum(this=inputs[0]), exp.Sum(this=inputs[1])
        return exp.Div(this=total, expression=exp.Nullif(this=count, expression=exp.Literal.number(0)))
    return exp.Max(this=inputs[0])  # max; and as_is: one rollup row per group
