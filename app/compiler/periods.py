"""Time in SQL: truncation to a grain in a calendar, intervals, and the query's bounds over ``$start``/``$end``.

A Calendar is the time zone periods are cut in and the day weeks start on. Timestamps are stored in UTC;
in a zone they are read as that zone's wall time (zones.py rewrites the tables read), so a day there is
23 or 25 hours when the clocks change. An hour period in a zone is keyed by the UTC instant it starts at:
the hour repeated when the clocks go back is two periods, the hour skipped is none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlglot import exp

from app.compiler import build as b
from app.compiler.query import MetricQuery
from app.compiler.shape import placeholder

DAYS_IN = {
    "hour": 1, "day": 1, "week": 7, "month": 31, "quarter": 92, "year": 366, "fiscal_quarter": 92, "fiscal_year": 366
}  # fmt: skip
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Zulu", "Etc/Zulu", "Universal", "Etc/Universal", "GMT"})
UTC_COPY = "__utc_"  # zones.py keeps each localized timestamp's stored (UTC) value under this prefix
FISCAL = {"fiscal_quarter": "quarter", "fiscal_year": "year"}  # a fiscal grain: its calendar grain, shifted
MONTHS = {"month": 1, "quarter": 3, "year": 12, "fiscal_quarter": 3, "fiscal_year": 12}


@dataclass(frozen=True)
class Calendar:
    """Where periods are cut: ``zone`` (an IANA name; None: UTC, timestamps read as stored), the day weeks
    start on (0 Monday, as ISO, to 6 Sunday) and the month fiscal years start in (1 January to 12)."""

    zone: str | None = None
    week_start: int = 0
    fiscal_start: int = 1

    @classmethod
    def of(cls, query: MetricQuery) -> Calendar:
        """The calendar a query asks for (UTC, ISO weeks and calendar years where it names none)."""
        zone = None if query.tz is None or query.tz in UTC_NAMES else query.tz
        return cls(zone, WEEKDAYS.index(query.week_start or "monday"), query.fiscal_year_start or 1)

    def period(self, ts: exp.Expr, grain: str) -> exp.Expr:
        """The start of the ``grain`` period holding the wall time ``ts`` (TIMESTAMP at hour grain, else DATE)."""
        shift = None
        if grain == "week" and self.week_start:
            shift = interval(self.week_start, "day")
        elif grain in FISCAL and self.fiscal_start > 1:
            shift = interval(self.fiscal_start - 1, "month")
        unit = FISCAL.get(grain, grain)
        if shift is None:
            return b.cast(b.date_trunc(ts, unit), period_type(grain))
        moved = b.date_trunc(exp.Sub(this=ts, expression=shift), unit)
        return b.cast(exp.Add(this=moved, expression=shift.copy()), "DATE")

    def key(self, ts: exp.Expr, grain: str) -> exp.Expr:
        """A row's period key: its period, or in a zone at hour grain the UTC instant its wall-clock hour
        starts at (the stored value less the minutes into the local hour: offsets are constant within one)."""
        if self.zone is None or grain != "hour":
            return self.period(ts, grain)
        if isinstance(ts, exp.Column):  # a column of a localized table: its stored value is beside it
            stored: exp.Expr = b.col(UTC_COPY + ts.name, ts.table or None)
        else:
            stored = self.to_utc(ts)
        into_hour = exp.Paren(this=exp.Sub(this=ts.copy(), expression=self.period(ts, grain)))
        return exp.Sub(this=stored, expression=into_hour)

    def to_utc(self, wall: exp.Expr) -> exp.Expr:
        """The stored (UTC) TIMESTAMP of a wall time in the zone (one of the two when the clocks go back: see
        ``bound_key``)."""
        return wall if self.zone is None else b.cast(_convert(wall, self.zone, "UTC"), "TIMESTAMP")

    def bound_key(self, wall: exp.Expr, grain: str, *, last: bool = False) -> exp.Expr:
        """The key of the period holding the wall time ``wall`` (a bound: ``$start``, ``$end``). A wall-clock
        hour that happens twice has two keys: a lower bound takes the first, an upper bound (``last``) the
        second, so a range starting or ending in it keeps both."""
        if self.zone is None or grain != "hour":
            return self.period(wall, grain)
        hour = self.period(wall, grain)
        one = interval(1, "hour")
        # the hour before, moved on by an hour: the first time round when the hour repeats, else the same
        before = exp.Add(this=self.to_utc(exp.Sub(this=hour.copy(), expression=one)), expression=one.copy())
        both = [self.to_utc(hour), b.cast(before, "TIMESTAMP")]
        return (
            exp.Greatest(this=both[0], expressions=both[1:]) if last else exp.Least(this=both[0], expressions=both[1:])
        )

    def moved(self, key: exp.Expr, by: exp.Interval, grain: str, *, back: bool) -> exp.Expr:
        """A period key ``by`` earlier (``back``) or later: in wall time for an hour in a zone (a year before
        08:00 is 08:00, whatever the offsets were), so the hour keyed in UTC is found again."""
        step = exp.Sub if back else exp.Add
        if self.zone is None or grain != "hour" or by.text("unit").upper() == "HOUR":
            return b.cast(step(this=key, expression=by), period_type(grain))
        return self.to_utc(step(this=self.local(key), expression=by))

    def told(self, key: exp.Expr) -> exp.Expr:
        """An hour key (its UTC start) as ISO text of the zone's wall time with its offset, such as
        ``2026-10-25T02:00:00+01:00``: the offset from the same time-zone data the periods were cut with."""
        assert self.zone is not None
        wall = self.local(key)
        offset = exp.DateDiff(this=wall.copy(), expression=key.copy(), unit=exp.var("SECOND"))
        size = exp.Abs(this=offset.copy())

        def two_digits(number: exp.Expr) -> exp.Expr:
            text = b.cast(number, "VARCHAR")
            return exp.Pad(
                this=text, expression=exp.Literal.number(2), fill_pattern=exp.Literal.string("0"), is_left=True
            )

        sign = exp.If(
            this=exp.LT(this=offset, expression=exp.Literal.number(0)),
            true=exp.Literal.string("-"),
            false=exp.Literal.string("+"),
        )
        hours = exp.IntDiv(this=size, expression=exp.Literal.number(3600))
        minutes = exp.IntDiv(
            this=exp.Paren(this=exp.Mod(this=size.copy(), expression=exp.Literal.number(3600))),
            expression=exp.Literal.number(60),
        )
        parts = [
            # date and time apart: PostgreSQL's to_char reads the "TH" of "%dT%H" as an ordinal suffix
            exp.TimeToStr(this=wall, format=exp.Literal.string("%Y-%m-%d")),
            exp.Literal.string("T"),
            exp.TimeToStr(this=wall.copy(), format=exp.Literal.string("%H:%M:%S")),
            sign,
            two_digits(hours),
            exp.Literal.string(":"),
            two_digits(minutes),
        ]
        return exp.Concat(expressions=parts)

    def local(self, stored: exp.Expr) -> exp.Expr:
        """The wall time in the zone of a stored (UTC) TIMESTAMP."""
        return stored if self.zone is None else _convert(stored, "UTC", self.zone)

    def label(self, start: exp.Expr, grain: str) -> exp.Expr | None:
        """A fiscal period's name from its start date: ``FY2027-Q1`` (a fiscal year is named by the calendar
        year it ends in; January starts give the calendar year's own); None for other grains."""
        if grain not in FISCAL:
            return None
        later = exp.If(
            this=exp.GTE(this=exp.Month(this=start.copy()), expression=exp.Literal.number(self.fiscal_start)),
            true=exp.Literal.number(1 if self.fiscal_start > 1 else 0),
            false=exp.Literal.number(0),
        )
        year = exp.Add(this=exp.Year(this=start.copy()), expression=later)
        parts: list[exp.Expr] = [exp.Literal.string("FY"), b.cast(year, "VARCHAR")]
        if grain == "fiscal_quarter":  # months since the fiscal year's start, in threes
            since = exp.Mod(
                this=exp.Paren(
                    this=exp.Add(
                        this=exp.Sub(
                            this=exp.Month(this=start.copy()), expression=exp.Literal.number(self.fiscal_start)
                        ),
                        expression=exp.Literal.number(12),
                    )
                ),
                expression=exp.Literal.number(12),
            )
            quarter = exp.Add(
                this=exp.IntDiv(this=since, expression=exp.Literal.number(3)), expression=exp.Literal.number(1)
            )
            parts += [exp.Literal.string("-Q"), b.cast(quarter, "VARCHAR")]
        return exp.Concat(expressions=parts)

    def step(self, grain: str) -> exp.Interval:
        """One period of ``grain`` (a fiscal quarter is three months)."""
        return interval(MONTHS[grain], "month") if grain in FISCAL else interval(1, grain)

    def start_of(self, value: date | datetime, grain: str) -> datetime:
        """The start of the ``grain`` period holding ``value`` (a wall time).

        >>> Calendar(fiscal_start=2).start_of(date(2026, 1, 15), "fiscal_quarter")
        datetime.datetime(2025, 11, 1, 0, 0)
        """
        at = value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)
        if grain == "hour":
            return at.replace(minute=0, second=0, microsecond=0)
        day = at.replace(hour=0, minute=0, second=0, microsecond=0)
        if grain == "day":
            return day
        if grain == "week":
            return day - timedelta(days=(day.weekday() - self.week_start) % 7)
        first = self.fiscal_start if grain in FISCAL else 1
        since = (day.month - first) % MONTHS[grain]  # months into the period
        index = day.year * 12 + day.month - 1 - since
        return day.replace(year=index // 12, month=index % 12 + 1, day=1)


ISO = Calendar()


def _convert(ts: exp.Expr, source: str, target: str) -> exp.Expr:
    """The wall time in ``target`` of the wall time ``ts`` in ``source``."""
    return exp.ConvertTimezone(source_tz=exp.Literal.string(source), target_tz=exp.Literal.string(target), timestamp=ts)


def interval(count: int, unit: str) -> exp.Interval:
    return exp.Interval(this=exp.Literal.string(str(count)), unit=exp.var(unit.upper()))


def period(ts: exp.Expr, grain: str, calendar: Calendar = ISO) -> exp.Expr:
    """The start of the ``grain`` period holding ``ts`` (a TIMESTAMP at hour grain, else a DATE)."""
    return calendar.period(ts, grain)


def period_type(grain: str) -> str:
    return "TIMESTAMP" if grain == "hour" else "DATE"


@dataclass(frozen=True)
class TimeBounds:
    """SQL for the query's time bounds, built over the ``$start``/``$end`` parameters."""

    start_kind: str | None  # "date" | "timestamp" | None
    end_kind: str | None
    end_exclusive: bool = False  # a build's batch ends where the next begins
    calendar: Calendar = ISO  # start and end are wall times in its zone

    def start(self) -> exp.Expr:
        return b.cast(placeholder("start"), (self.start_kind or "date").upper())

    def end(self) -> exp.Expr:
        return b.cast(placeholder("end"), (self.end_kind or "date").upper())

    def start_of_period(self, grain: str | None) -> exp.Expr:
        """The start of the period holding ``start`` (the start itself without a grain)."""
        if grain is None:
            return self.start()
        return self.calendar.period(b.cast(placeholder("start"), "TIMESTAMP"), grain)

    def start_key(self, grain: str) -> exp.Expr:
        """The key of the period holding ``start`` (compared with period keys, not row times)."""
        return self.calendar.bound_key(b.cast(placeholder("start"), "TIMESTAMP"), grain)

    def end_key(self, grain: str) -> exp.Expr:
        """The key of the period holding ``end`` (its last hour when it is a date: a date includes its day)."""
        end: exp.Expr = b.cast(placeholder("end"), "TIMESTAMP")
        if self.end_kind == "date" and grain == "hour":
            end = exp.Add(this=end, expression=interval(23, "hour"))
        return self.calendar.bound_key(end, grain, last=True)

    def end_condition(self, ts: exp.Expr) -> exp.Expr:
        """``end`` is inclusive; a date includes its whole day."""
        if self.end_kind == "date":
            return exp.LT(this=ts, expression=exp.Add(this=self.end(), expression=interval(1, "day")))
        if self.end_exclusive:
            return exp.LT(this=ts, expression=self.end())
        return exp.LTE(this=ts, expression=self.end())


def period_start(value: date | datetime, grain: str, calendar: Calendar = ISO) -> datetime:
    """The start of the ``grain`` period holding ``value`` (ISO weeks and calendar years by default).

    >>> period_start(date(2026, 9, 15), "quarter")
    datetime.datetime(2026, 7, 1, 0, 0)
    """
    return calendar.start_of(value, grain)


def next_period(start: datetime, grain: str) -> datetime:
    """The start of the period after the one starting at ``start``."""
    if grain in ("hour", "day", "week"):
        return start + {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}[grain]
    index = start.year * 12 + start.month - 1 + MONTHS[grain]
    return start.replace(year=index // 12, month=index % 12 + 1)


def partial_periods(
    grain: str | None,
    start: date | datetime | None,
    end: date | datetime | None,
    data_end: datetime | None = None,
    calendar: Calendar = ISO,
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
    try:
        ends = [_instant(end) + (timedelta(days=1) if not isinstance(end, datetime) else timedelta(0))] if end else []
    except OverflowError:  # the last day there is: nothing after it to cut
        ends = []
    hi = min([*ends, *([data_end] if data_end is not None else [])], default=None)
    found: list[datetime] = []
    if lo is not None and lo > period_start(lo, grain, calendar):
        found.append(period_start(lo, grain, calendar))
    if hi is not None and (lo is None or hi > lo):
        # the period holding the last instant covered (an inclusive timestamp ``end`` is that instant)
        last = period_start(
            _instant(end) if isinstance(end, datetime) and hi == ends[0] else hi - _TICK, grain, calendar
        )
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
