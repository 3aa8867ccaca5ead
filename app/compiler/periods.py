"""Time in SQL: truncation to a grain, intervals, and the query's bounds over ``$start``/``$end``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

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
    end_exclusive: bool = False  # a build's batch ends where the next begins

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
        if self.end_exclusive:
            return exp.LT(this=ts, expression=self.end())
        return exp.LTE(this=ts, expression=self.end())


def period_start(value: date | datetime, grain: str) -> datetime:
    """The start of the ``grain`` period holding ``value`` (ISO weeks start on Monday).

    >>> period_start(date(2026, 9, 15), "quarter")
    datetime.datetime(2026, 7, 1, 0, 0)
    """
    at = value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)
    if grain == "hour":
        return at.replace(minute=0, second=0, microsecond=0)
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    if grain == "day":
        return day
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    if grain == "quarter":
        return day.replace(month=3 * ((day.month - 1) // 3) + 1, day=1)
    return day.replace(month=1, day=1)


def next_period(start: datetime, grain: str) -> datetime:
    """The start of the period after the one starting at ``start``."""
    if grain in ("hour", "day", "week"):
        return start + {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}[grain]
    months = {"month": 1, "quarter": 3, "year": 12}[grain]
    index = start.year * 12 + start.month - 1 + months
    return start.replace(year=index // 12, month=index % 12 + 1)


def partial_periods(
    grain: str | None,
    start: date | datetime | None,
    end: date | datetime | None,
    data_end: datetime | None = None,
) -> list[dict[str, object]]:
    """The periods only partly inside the range or the data: each labelled by its start, with the part
    covered (``from`` inclusive, ``until`` exclusive; ``end`` is inclusive, a date includes its whole day;
    ``data_end`` is the instant the data stops covering, see scans.data_end).

    >>> partial_periods("month", date(2026, 9, 15), date(2026, 10, 31))
    [{'period': '2026-09-01', 'partial': True, 'from': '2026-09-15', 'until': '2026-10-01'}]
    >>> partial_periods("month", date(2026, 9, 1), date(2026, 9, 30))
    []
    >>> partial_periods("quarter", date(2026, 7, 1), None, datetime(2026, 11, 1))
    [{'period': '2026-10-01', 'partial': True, 'from': '2026-10-01', 'until': '2026-11-01'}]
    """
    if grain is None:
        return []
    lo = _instant(start) if start is not None else None
    ends = [_instant(end) + (timedelta(days=1) if not isinstance(end, datetime) else timedelta(0))] if end else []
    hi = min([*ends, *([data_end] if data_end is not None else [])], default=None)
    found: list[datetime] = []
    if lo is not None and lo > period_start(lo, grain):
        found.append(period_start(lo, grain))
    if hi is not None and (lo is None or hi > lo):
        # the period holding the last instant covered (an inclusive timestamp ``end`` is that instant)
        last = period_start(_instant(end) if isinstance(end, datetime) and hi == ends[0] else hi - _TICK, grain)
        if hi < next_period(last, grain):
            found.append(last)
    out = []
    for p in sorted(set(found)):
        begin = max(p, lo) if lo is not None else p
        stop = min(next_period(p, grain), hi) if hi is not None else next_period(p, grain)
        out.append({"period": _label(p, grain), "partial": True, "from": _label(begin), "until": _label(stop)})
    return out


_TICK = timedelta(microseconds=1)


def _instant(value: date | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)


def _label(at: datetime, grain: str | None = None) -> str:
    """A date where the instant is a midnight (and the grain is not hour), else a timestamp."""
    whole_day = at == at.replace(hour=0, minute=0, second=0, microsecond=0)
    return at.date().isoformat() if whole_day and grain != "hour" else at.isoformat()
