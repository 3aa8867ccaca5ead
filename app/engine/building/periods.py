"""Batch arithmetic: the hour, day, week (from Monday) or month periods a time range is cut into."""

from __future__ import annotations

from datetime import datetime, timedelta


def floor(t: datetime, grain: str) -> datetime:
    """The start of the period ``t`` falls in.

    >>> floor(datetime(2026, 10, 17, 13, 5), "month")
    datetime.datetime(2026, 10, 1, 0, 0)
    """
    if grain == "hour":
        return t.replace(minute=0, second=0, microsecond=0)
    day = t.replace(hour=0, minute=0, second=0, microsecond=0)
    if grain == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1) if grain == "month" else day


def step(t: datetime, grain: str) -> datetime:
    """The start of the period after the one starting at ``t``.

    >>> step(datetime(2026, 12, 1), "month")
    datetime.datetime(2027, 1, 1, 0, 0)
    """
    if grain == "hour":
        return t + timedelta(hours=1)
    if grain == "day":
        return t + timedelta(days=1)
    if grain == "week":
        return t + timedelta(weeks=1)
    return t.replace(year=t.year + t.month // 12, month=t.month % 12 + 1, day=1)


def ceil(t: datetime, grain: str) -> datetime:
    """``t`` if a period starts there, else the start of the next period."""
    f = floor(t, grain)
    return f if f == t else step(f, grain)


def batches(start: datetime, end: datetime, grain: str) -> list[tuple[datetime, datetime]]:
    """``[start, end)`` cut at period boundaries; the first and last batches may be partial.

    >>> [(a.day, b.day) for a, b in batches(datetime(2026, 1, 30), datetime(2026, 2, 2), "day")]
    [(30, 31), (31, 1), (1, 2)]
    """
    out: list[tuple[datetime, datetime]] = []
    t = start
    while t < end:
        nxt = min(step(floor(t, grain), grain), end)
        out.append((t, nxt))
        t = nxt
    return out


def count(start: datetime, end: datetime, grain: str) -> int:
    """How many batches ``batches(start, end, grain)`` makes, without making them.

    >>> count(datetime(2026, 1, 30), datetime(2026, 3, 2), "month")
    3
    """
    if end <= start:
        return 0
    if grain == "month":
        last = floor(end - timedelta(microseconds=1), "month")
        return (last.year - start.year) * 12 + last.month - start.month + 1
    size = {"hour": 3600, "day": 86400, "week": 7 * 86400}[grain]
    first = floor(start, grain)
    return int(-(-(end - first).total_seconds() // size))
