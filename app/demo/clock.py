"""The demo company's clock: its data ends on DATA_END, so its builds run up to the day after."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb

from app.demo.generator import SEEDED_TABLES, is_seeded

DATA_END = date(2026, 10, 31)


def build_until(
    con: duckdb.DuckDBPyConnection, clock: datetime, catalog: dict[str, dict[str, str]] | None = None
) -> datetime:
    """Where builds stop (exclusive): the day after the demo's data ends, else the clock (UTC). ``catalog``:
    that of another warehouse, which holds the demo when it has every table the seed writes."""
    seeded = set(SEEDED_TABLES) <= set(catalog) if catalog is not None else is_seeded(con)
    if seeded:
        return datetime.combine(DATA_END + timedelta(days=1), datetime.min.time())
    return clock
