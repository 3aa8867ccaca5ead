"""Opening the DuckDB file and reading its catalog; the one place duckdb errors are translated."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from app.errors import DatabaseBusy, DatabaseError
from app.settings import Settings

USER_SCHEMAS = ("staging", "entity", "legacy")


def connect(path: Path, *, read_only: bool = False, settings: Settings | None = None) -> duckdb.DuckDBPyConnection:
    """Open the DuckDB file; a file locked by another process is a clear DatabaseBusy error."""
    config: dict[str, str | int | bool] = {}
    if settings is not None:
        if settings.threads:
            config["threads"] = settings.threads
        if settings.memory_limit:
            config["memory_limit"] = settings.memory_limit
    if read_only and not path.exists():
        raise DatabaseError(f"Database file '{path}' does not exist. Run `tapflow migrate` and `tapflow seed` first.")
    try:
        return duckdb.connect(str(path), read_only=read_only, config=config)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise DatabaseBusy(
                f"Database file '{path}' is in use by another process (is `tapflow serve` running?). "
                "Stop that process, or point TAPFLOW_DATABASE at another file.",
            ) from exc
        raise DatabaseError(f"Cannot open database file '{path}': {exc}") from exc


@contextmanager
def connection(
    path: Path, *, read_only: bool = False, settings: Settings | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect(path, read_only=read_only, settings=settings)
    try:
        yield con
    finally:
        con.close()


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor in one transaction: committed when the block ends, rolled back if it raises."""
    cur = con.cursor()
    try:
        cur.execute("BEGIN TRANSACTION")
        try:
            yield cur
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        cur.execute("COMMIT")
    finally:
        cur.close()


def read_catalog(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, str]]:
    """{"schema.table": {column: type}} for the user schemas (what definitions may reference)."""
    rows = con.execute(
        """
        SELECT table_schema, table_name, column_name, data_type
        FROM information_schema.columns
        WHERE table_catalog = current_database() AND table_schema IN ('staging', 'entity', 'legacy', 'main')
        ORDER BY table_schema, table_name, ordinal_position
        """
    ).fetchall()
    catalog: dict[str, dict[str, str]] = {}
    for schema, table, column, kind in rows:
        catalog.setdefault(f"{schema}.{table}".lower(), {})[column.lower()] = kind
    return catalog
