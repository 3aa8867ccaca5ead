"""Time in SQL: truncation to a grain, intervals, and the query's bounds over ``$start``/``$end``."""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from app.compiler import build as b
from app.compiler.shape import placeholder

DAYS_IN = {"hour": 1, "day": 1, "week": 7, "month": 31, "quarter": 92, "year": 366}


def interval(count: int, unit: str) -> exp.Interval:
    return exp.Interval(this=exp.Literal.string(str(count)), unit=exp.var(unit.upper()))


def period(ts: exp.Expr, grain: str) -> exp.Expr:
    """The start of the ``grain`` period holding ``ts`` (a TIMESTAMP at hour grain, else a DATE)."""
    return b.cast(b.date_trunc(ts, grain), period_type(grain))


def period_type(grain: str) -> str:
    return "TIMESTAMP" if grain == "hour" else "DATE"


@dataclass(frozen=True)
class TimeBounds:
    """SQL for the query's time bounds, built over the ``$start``/``$end`` parameters."""

    start_kind: str | None  # "date" | "timestamp" | None
    end_kind: str | None

    def start(self) -> exp.Expr:
        return b.cast(placeholder("start"), (self.start_kind or "date").upper())

    def end(self) -> exp.Expr:
        return b.cast(placeholder("end"), (self.end_kind or "date").upper())

    def start_of_period(self, grain: str | None) -> exp.Expr:
        """The start of the period holding ``start`` (the start itself without a grain)."""
        if grain is None:
            return self.start()
        return period(b.cast(placeholder("start"), "TIMESTAMP"), grain)

    def end_of_period(self, grain: str) -> exp.Expr:
        return period(b.cast(placeholder("end"), "TIMESTAMP"), grain)

    def end_condition(self, ts: exp.Expr) -> exp.Expr:
        """``end`` is inclusive; a date includes its whole day."""
        if self.end_kind == "date":
            return exp.LT(this=ts, expression=exp.Add(this=self.end(), expression=interval(1, "day")))
        return exp.LTE(this=ts, expression=self.end())
