"""The demo company's clock: its data ends on DATA_END, so its builds run up to the day after."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb

from app.demo.generator import is_seeded

DATA_END = date(2026, 10, 31)


def build_until(con: duckdb.DuckDBPyConnection, clock: datetime) -> datetime:
    """Where builds stop (exclusive): the day after the demo's data ends, else the clock (UTC)."""
    if is_seeded(con):
        return datetime.combine(DATA_END + timedelta(days=1), datetime.min.time())
    return clock
