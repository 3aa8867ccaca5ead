"""Which rollup answers a query exactly (DESIGN 13), or why each candidate cannot.

A rollup answers when it holds every metric the query reads (a derived metric's parts), every dimension
asked for or filtered on, a grain the query's grain is made of whole (week from day, quarter from month),
a range that starts and ends on its periods, and is current over what the query reads (rebuilt since its
tables last changed). Among those, the smallest answers. Pure: what the database holds comes in ``Coverage``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlglot import exp

from app.compiler.filters import dimension_name
from app.compiler.periods import DAYS_IN, Calendar, period_start
from app.compiler.query import MetricQuery
from app.compiler.zones import stored_timestamps
from app.definitions.project import MetricVersion, Project, Rollup, grain_rank
from app.definitions.rollups import exact_only, reaggregation

Span = tuple[datetime, datetime]  # [start, end)
# the grains each rollup grain is cut into whole: a week is 7 days, a quarter 3 months; a week is no months
FISCAL_GRAINS = ("fiscal_quarter", "fiscal_year")  # whole months
MADE_OF = {
    "hour": ("hour", "day", "week", "month", "quarter", "year", *FISCAL_GRAINS),
    "day": ("day", "week", "month", "quarter", "year", *FISCAL_GRAINS),
    "week": ("week",),
    "month": ("month", "quarter", "year", *FISCAL_GRAINS),
}
NOUN = {"hour": "an hour", "day": "a day", "week": "a week (Monday)", "month": "a month"}


@dataclass(frozen=True)
class Coverage:
    """What a rollup holds now: the spans it is current over (built since its tables last changed there),
    the span its table's builds cover, and its size."""

    current: tuple[Span, ...] = ()
    extent: Span | None = None
    rows: int | None = None
    bytes: int | None = None
    refreshed: datetime | None = None  # when its last batch finished
    complete: bool = True  # every row of its table has a time inside ``extent`` (else: answers inside only)

    def label(self) -> str:
        if not self.current:
            return "nothing built yet"
        return ", ".join(f"{_day(a)} to {_day(b)}" for a, b in self.current)


@dataclass(frozen=True)
class Choice:
    """The rollup a query is answered from (None: its metrics' tables), and why each other candidate was not."""

    rollup: Rollup | None = None
    skipped: tuple[tuple[str, str], ...] = ()
    off: bool = False

    def meta(self) -> dict[str, Any] | None:
        """``meta.pre_aggregation``: None when no rollup holds any of the query's metrics."""
        if self.rollup is None and not self.skipped:
            return None
        used = self.rollup
        return {
            "used": used.name if used else None,
            "table": used.physical if used else None,
            "skipped": [{"name": n, "reason": r} for n, r in self.skipped],
        }


@dataclass
class _Ask:
    """What of a query decides the matching."""

    query: MetricQuery
    base: list[MetricVersion]
    where_dims: set[str]
    reach_days: int  # how far before the first period the query reads (comparisons, windows)
    versions_current: bool
    notes: list[str] = field(default_factory=list)


def choose(
    project: Project,
    query: MetricQuery,
    base: Iterable[MetricVersion],
    where: exp.Expr | None,
    coverage: Mapping[str, Coverage] | None,
) -> Choice:
    """The smallest rollup answering ``query`` exactly (``base``: the metrics it reads from tables)."""
    metrics = list(base)
    names = {m.name for m in metrics}
    candidates = [r for r in project.rollups.values() if names & set(r.metrics)]
    if not candidates:
        return Choice()
    if query.pre_aggregations == "off" or coverage is None:
        reason = "pre_aggregations=off" if query.pre_aggregations == "off" else "no database to read it from"
        return Choice(None, tuple((r.name, reason) for r in candidates), off=True)
    ask = _Ask(
        query,
        metrics,
        {dimension_name(c) for c in where.find_all(exp.Column)} if where is not None else set(),
        _reach(query, metrics),
        all(project.metric(m.name) is m for m in metrics),
    )
    fits: list[Rollup] = []
    skipped: list[tuple[str, str]] = []
    for r in candidates:
        why = _why_not(ask, r, coverage.get(r.name) or Coverage())
        if why is None:
            fits.append(r)
        else:
            skipped.append((r.name, why))
    if not fits:
        return Choice(None, tuple(skipped))
    best = min(fits, key=lambda r: _size(r, coverage))
    skipped += [(r.name, f"{best.name} is smaller") for r in fits if r is not best]
    return Choice(best, tuple(skipped))


def _size(r: Rollup, coverage: Mapping[str, Coverage]) -> tuple[float, int, int]:
    rows = (coverage.get(r.name) or Coverage()).rows
    return (float("inf") if rows is None else rows, -grain_rank(r.grain), len(r.dimensions))


def _why_not(ask: _Ask, r: Rollup, cov: Coverage) -> str | None:
    q = ask.query
    for m in ask.base:
        if m.name not in r.metrics:
            return f"metric {m.name} not in {r.name}"
    if not ask.versions_current:
        return f"{r.name} holds the current versions of its metrics, not version {q.version}"
    for d in q.dimensions:
        if d not in r.dimensions:
            return f"dimension {d} not in {r.name}"
    for d in sorted(ask.where_dims):
        if d not in r.dimensions:
            return f"where uses dimension {d}, not in {r.name}"
    for m in ask.base:
        if reaggregation(m) == "as_is":  # one row per group, read as it is
            same_dims = set(q.dimensions) == set(r.dimensions)
            # at one snapshot no rows are combined across time: any coarser period takes its last one
            same_grain = q.grain == r.grain or (not exact_only(m) and (q.grain is None or q.grain in MADE_OF[r.grain]))
            if not (same_dims and same_grain):
                what = "a distinct count" if m.spec.calculation_method == "count_distinct" else "a median"
                dims = ", ".join(r.dimensions) or "no dimension"
                by = f"by {r.grain}" if exact_only(m) else f"by {r.grain} or coarser"
                return f"{m.name} is {what}: {r.name} answers it only {by} with exactly its dimensions ({dims})"
    for m in ask.base:
        window = m.spec.window
        step = q.grain
        if window is not None:
            step = q.grain if q.grain and grain_rank(q.grain) <= grain_rank(window.period) else window.period
        if step is not None and step not in MADE_OF[r.grain]:
            return f"grain {step} is not made of whole {r.grain}s ({r.name} is by {r.grain})"
    if q.compare_to == "same_days" and r.grain not in ("hour", "day"):
        return f"compare_to=same_days compares single days; {r.name} is by {r.grain}"
    calendar = Calendar.of(q)
    if calendar.zone is not None:
        shifted = set(stored_timestamps(r.table)) & {str(m.spec.timestamp) for m in ask.base}
        if shifted:
            return f"{r.name} is cut in UTC periods of {', '.join(sorted(shifted))}; tz={calendar.zone} cuts its own"
    if calendar.week_start and r.grain == "week":
        return f"{r.name} holds weeks starting on monday, not {q.week_start}"
    return _range(ask, r, cov)


def _range(ask: _Ask, r: Rollup, cov: Coverage) -> str | None:
    """The range starts and ends on the rollup's periods, and the rollup is current over what is read."""
    q = ask.query
    start = _instant(q.start) if q.start is not None else None
    if start is not None and period_start(start, r.grain) != start:
        return f"start {_text(q.start)} is not the start of {NOUN[r.grain]} ({r.name} is by {r.grain})"
    end: datetime | None = None
    if isinstance(q.end, datetime):
        return f"end {_text(q.end)} is a time: {r.name} answers ranges of whole {r.grain}s; give a date"
    if q.end is not None:
        if q.end >= date.max:  # no day after it: nothing a rollup holds ends there
            return f"end {_text(q.end)} is the last day there is: {r.name} answers ranges of whole {r.grain}s"
        end = _instant(q.end) + timedelta(days=1)
        if period_start(end, r.grain) != end:
            return f"end {_text(q.end)} is not the last day of {NOUN[r.grain]} ({r.name} is by {r.grain})"
    if cov.extent is None or not cov.current:
        return f"{r.name} is not built yet"
    if not cov.complete and (start is None or end is None):
        return f"{r.table.name} has rows without a time or outside its builds' span: give start and end inside it"
    lo = cov.extent[0] if start is None else _first_read(ask, start)
    hi = cov.extent[1] if end is None else end
    if cov.complete:  # past what its table's builds cover there are no rows: nothing to read
        lo, hi = max(lo, cov.extent[0]), min(hi, cov.extent[1])
    if lo >= hi:
        return None  # nothing of its table's data is read
    gap = uncovered(cov.current, (lo, hi))
    if gap is None:
        return None
    if gap < cov.current[0][0]:
        return f"range starts before coverage ({r.name} covers {cov.label()})"
    if gap >= cov.current[-1][1]:
        return f"range ends after coverage ({r.name} covers {cov.label()})"
    return f"{r.table.name} changed on {_day(gap)} since {r.name} was built there (the next build refreshes it)"


def _first_read(ask: _Ask, start: datetime) -> datetime:
    first = period_start(start, ask.query.grain, Calendar.of(ask.query)) if ask.query.grain else start
    return first - timedelta(days=ask.reach_days)


def _reach(query: MetricQuery, metrics: list[MetricVersion]) -> int:
    days = 0
    if query.compare == "prior_period" and query.grain:
        days = DAYS_IN[query.grain]
    elif query.compare == "prior_year":
        days = DAYS_IN["year"]
    windows = [DAYS_IN[m.spec.window.period] * m.spec.window.count for m in metrics if m.spec.window]
    return days + max(windows, default=0)


def uncovered(spans: tuple[Span, ...], want: Span) -> datetime | None:
    """The first instant of ``want`` no span covers (spans sorted and disjoint); None when all are covered."""
    at, end = want
    for a, b in spans:
        if b <= at:
            continue
        if a > at:
            return at
        at = b
        if at >= end:
            return None
    return at if at < end else None


def add_span(spans: list[Span], new: Span) -> list[Span]:
    """``spans`` (sorted, disjoint) with ``new`` added, touching spans merged."""
    a, b = new
    out: list[Span] = []
    for s, e in spans:
        if e < a or s > b:
            out.append((s, e))
        else:
            a, b = min(a, s), max(b, e)
    out.append((a, b))
    return sorted(out)


def remove_span(spans: list[Span], cut: Span) -> list[Span]:
    """``spans`` without ``cut``."""
    a, b = cut
    out: list[Span] = []
    for s, e in spans:
        if e <= a or s >= b:
            out.append((s, e))
            continue
        if s < a:
            out.append((s, a))
        if e > b:
            out.append((b, e))
    return out


def _instant(value: date | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)


def _text(value: date | datetime | None) -> str:
    return value.isoformat(sep=" ") if isinstance(value, datetime) else str(value)


def _day(t: datetime) -> str:
    return t.strftime("%Y-%m-%d") if t.time() == datetime.min.time() else t.strftime("%Y-%m-%d %H:%M")
