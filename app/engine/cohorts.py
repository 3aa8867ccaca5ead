"""Cohort retention: a metric by period and by a cohort dimension (each cohort's start, such as the month a
customer signed up), pivoted into one row per cohort and one column per period since the cohort started,
absolute and as a percentage of the cohort's first period (net revenue retention for MRR, logo retention
for a count of active customers)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from app.compiler.periods import MONTHS, Calendar, next_period
from app.compiler.query import MetricQuery
from app.engine.runner import MetricResult
from app.errors import InvalidQuery

GRAINS = ("day", "week", "month", "quarter", "year", "fiscal_quarter", "fiscal_year")


def cohort_query(query: MetricQuery, cohort: str, periods: int, max_rows: int) -> MetricQuery:
    """The metric query a matrix is read from: ``query`` by period and ``cohort``, from its ``start`` (the first
    cohort's) through ``periods`` periods after its ``end`` (the last cohort's), every row."""
    grain = query.grain
    if grain not in GRAINS:
        raise InvalidQuery(
            f"A cohort matrix needs a grain of a day or coarser ({', '.join(GRAINS)}), e.g. grain=month."
        )
    end: date | None = None
    if query.end is not None:
        after = Calendar.of(query).start_of(query.end, grain)
        try:
            for _ in range(periods):
                after = next_period(after, grain)
        except (ValueError, OverflowError):
            raise InvalidQuery(
                f"end={query.end.isoformat()} with periods={periods} reaches past the year 9999; give an earlier end."
            ) from None
        end = (after - timedelta(days=1)).date()
    change = {"dimensions": (cohort,), "end": end, "order": (), "offset": 0, "limit": max_rows}
    return MetricQuery.model_validate(query.model_dump() | change)


def matrix(result: MetricResult, cohort: str, periods: int) -> dict[str, Any]:
    """The rows of ``result`` (by period and ``cohort``) as ``columns`` and one row per cohort starting within
    the query's start and end: ``p0``.. the metric ``k`` periods after the cohort's start (0 where the data has
    the period but not the cohort, null past the data), ``pct_p0``.. each as a percentage of ``p0`` (2 decimals)."""
    query = result.query
    grain = str(query.grain)
    if result.truncated:
        raise InvalidQuery(
            f"The cohort matrix needs more than {query.limit:,} rows of {query.metrics[0]} by period and {cohort}; "
            "narrow start and end or ask for a coarser grain."
        )
    calendar = Calendar.of(query)
    metric = query.metrics[0]
    first = calendar.start_of(query.start, grain) if query.start else None
    last = _last_cohort(query, periods, calendar)
    cells: dict[datetime, dict[int, float]] = {}
    seen_last: datetime | None = None
    for row in result.rows:
        at = datetime.fromisoformat(str(row["period"]))
        seen_last = at if seen_last is None or at > seen_last else seen_last
        value = row[cohort]
        if value is None:
            continue
        try:
            day = date.fromisoformat(str(value)[:10])
        except ValueError:
            raise InvalidQuery(
                f"Dimension '{cohort}' holds {value!r}, not a date: a cohort dimension holds each cohort's start, "
                "such as signup_cohort."
            ) from None
        start = calendar.start_of(day, grain)
        if start.date() != day:  # cohorts of several values would be summed: wrong for distinct counts and ratios
            raise InvalidQuery(
                f"Dimension '{cohort}' holds {day.isoformat()}, which does not start a {grain.replace('_', ' ')}: "
                f"each cohort must start one of the matrix's periods. Use grain={_finest_grain(day)} or a cohort "
                "dimension of whole periods (a computed dimension such as date_trunc('quarter', signup_date))."
            )
        if (first is not None and start < first) or (last is not None and start > last):
            continue
        since = _periods_between(start, at, grain)
        if 0 <= since < periods:
            cells.setdefault(start, {})[since] = float(row[metric]) if row[metric] is not None else 0.0
    rows = []
    for start in sorted(cells):
        values: list[float | None] = []
        at = start
        for k in range(periods):
            values.append(cells[start].get(k, 0.0) if seen_last is not None and at <= seen_last else None)
            at = next_period(at, grain)
        base = values[0]
        shares = [None if v is None or not base else round(100.0 * v / base, 2) for v in values]
        rows.append(
            {"cohort": start.date().isoformat()}
            | {f"p{k}": v for k, v in enumerate(values)}
            | {f"pct_p{k}": s for k, s in enumerate(shares)}
        )
    columns = [{"name": "cohort", "type": "date"}]
    columns += [{"name": f"p{k}", "type": "number"} for k in range(periods)]
    columns += [{"name": f"pct_p{k}", "type": "number"} for k in range(periods)]
    return {"columns": columns, "rows": rows}


def _last_cohort(query: MetricQuery, periods: int, calendar: Calendar) -> datetime | None:
    """The start of the last cohort asked for: ``periods`` periods before the end the matrix query reads to."""
    if query.end is None:
        return None
    grain = str(query.grain)
    at = calendar.start_of(query.end, grain)
    for _ in range(periods - 1):
        at = calendar.start_of(at - timedelta(days=1), grain)
    return at


def _finest_grain(day: date) -> str:
    """The coarsest usual grain ``day`` starts a period of (for the hint of a refused cohort)."""
    if day.day != 1:
        return "day"
    return "year" if day.month == 1 else "quarter" if day.month % 3 == 1 else "month"


def _periods_between(start: datetime, at: datetime, grain: str) -> int:
    """Whole ``grain`` periods from the period starting at ``start`` to the one starting at ``at``."""
    if grain == "day":
        return (at - start).days
    if grain == "week":
        return (at - start).days // 7
    months = (at.year * 12 + at.month) - (start.year * 12 + start.month)
    return months // MONTHS[grain]
