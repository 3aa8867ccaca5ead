"""The data version: bumped by every write to the warehouse's data (migrations, seeds, builds,
backfills), so that anything derived from the data (cached results) can tell it is stale.

A build or backfill that writes the DuckDB file records itself with ``bump(con, reason)`` in
the same transaction as its writes.
"""

from __future__ import annotations

import duckdb

from app.engine.database import scalar


def current(con: duckdb.DuckDBPyConnection) -> int:
    cur = con.cursor()
    try:
        return int(scalar(cur, "SELECT coalesce(max(version), 0) FROM meta.data_versions"))
    except duckdb.CatalogException:  # a database migrated before 0006
        return 0
    finally:
        cur.close()


def bump(con: duckdb.DuckDBPyConnection, reason: str) -> int:
    """Record a data change (call inside the writing transaction); returns the new version."""
    sql = (
        "INSERT INTO meta.data_versions (version, reason) "
        "SELECT coalesce(max(version), 0) + 1, ? FROM meta.data_versions RETURNING version"
    )
    return int(scalar(con, sql, [reason[:500]]))
