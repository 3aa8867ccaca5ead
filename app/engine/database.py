"""The DuckDB seam: opening the file, transactions, reading the catalog, and the one place where
``duckdb.Error`` becomes a ``TapflowError`` (``connect``, ``query_errors``, ``failing_as``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import duckdb

from app.errors import DatabaseBusy, DatabaseError, InvalidQuery, QueryTimeout, TapflowError
from app.settings import Settings

# What a caller's query can get wrong (types of literals, values out of range): a 400, not a 500.
CALLER_ERRORS = (duckdb.ConversionException, duckdb.OutOfRangeException, duckdb.InvalidInputException)


def connect(
    path: Path, *, read_only: bool = False, settings: Settings | None = None, lock: bool = True
) -> duckdb.DuckDBPyConnection:
    """Open the DuckDB file, hardened: no file or network access from SQL (``read_text``, ``read_csv``,
    ``COPY``, ``ATTACH``, ``glob`` ...), and unless ``lock`` is False (a connection that still sets up
    the database, then calls ``lock_configuration``) no way to turn it back on. A file locked by
    another process is a clear DatabaseBusy error."""
    config: dict[str, str | bool | int | float | list[str]] = {"enable_external_access": False}
    if settings is not None:
        if settings.threads:
            config["threads"] = settings.threads
        if settings.memory_limit:
            config["memory_limit"] = settings.memory_limit
    if read_only and not path.exists():
        raise DatabaseError(f"Database file '{path}' does not exist. Run `tapflow migrate` and `tapflow seed` first.")
    try:
        con = duckdb.connect(str(path), read_only=read_only, config=config)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise DatabaseBusy(
                f"Database file '{path}' is in use by another process (is `tapflow serve` running?). "
                "DuckDB lets one process write it: ask the running service with --url http://HOST:PORT "
                "(e.g. --url http://127.0.0.1:8000), stop that process, or point TAPFLOW_DATABASE at another file.",
            ) from exc
        raise DatabaseError(f"Cannot open database file '{path}': {exc}") from exc
    con.execute("SET enable_progress_bar = false")  # no terminal to draw on
    if lock:
        lock_configuration(con)
    return con


def lock_configuration(con: duckdb.DuckDBPyConnection) -> None:
    """From now on no setting of ``con`` can change (external access stays off)."""
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


@contextmanager
def connection(
    path: Path, *, read_only: bool = False, settings: Settings | None = None, lock: bool = True
) -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect(path, read_only=read_only, settings=settings, lock=lock)
    try:
        yield con
    finally:
        con.close()


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A fresh cursor in one transaction: committed when the block ends, rolled back if it raises.

    The cursor is closed afterwards (its temporary tables go with it). ``read_only`` refuses writes.
    """
    cur = con.cursor()
    try:
        cur.execute("BEGIN TRANSACTION READ ONLY" if read_only else "BEGIN TRANSACTION")
        try:
            yield cur
        except BaseException:
            with suppress(duckdb.Error):  # the block's error is the one worth reporting
                cur.execute("ROLLBACK")
            raise
        cur.execute("COMMIT")
    finally:
        cur.close()


@contextmanager
def query_errors(timeout_s: float) -> Iterator[None]:
    """Translate what running a query raises: an interrupt is a timeout, a caller's mistake a 400."""
    try:
        yield
    except duckdb.InterruptException:
        raise timeout_error(timeout_s) from None
    except CALLER_ERRORS as exc:  # its quoted values may be data (a failed cast of a column): never echoed
        raise unevaluable(exc) from None
    except duckdb.BinderException as exc:
        if "compare" not in str(exc) and "cast" not in str(exc):
            raise failed(exc) from exc
        raise misfit(exc) from None
    except duckdb.Error as exc:
        raise failed(exc) from exc


# What each engine's errors become (database.query_errors, postgres.py and spark.py say them alike)
def unevaluable(exc: Exception, marks: str = "'") -> InvalidQuery:
    """A caller's value the database could not evaluate (a failed cast): its quoted values are never echoed."""
    return InvalidQuery(f"The database could not evaluate this query: {redacted(first_line(exc), marks)}")


def misfit(exc: Exception) -> InvalidQuery:
    """A caller's value compared with a column of another type."""
    return InvalidQuery(
        f"A value in the query does not fit the column's type: {first_line(exc)}. Quote strings "
        "('growth'), write dates as DATE '2025-01-31'."
    )


def failed(exc: Exception) -> DatabaseError:
    """A query that failed in the database for a reason no caller's value explains."""
    return DatabaseError(f"The query failed in the database: {first_line(exc)}")


@contextmanager
def failing_as(error: type[TapflowError], what: str) -> Iterator[None]:
    """Turn a ``duckdb.Error`` raised in the block into ``error("<what>: <duckdb's message>")``."""
    try:
        yield
    except duckdb.Error as exc:
        message = str(exc).split("\n\tCandidate functions")[0]  # DuckDB lists every overload: noise here
        raise error(f"{what}: {message}") from exc


def redacted(message: str, marks: str = "'") -> str:
    """``message`` with every value quoted by one of ``marks`` replaced by '…' (PostgreSQL quotes a value that
    does not parse in double quotes).

    >>> redacted("Conversion Error: Could not convert string 'Acme Corp' to INT32")
    "Conversion Error: Could not convert string '…' to INT32"
    >>> redacted('invalid input syntax for type date: "soon"', "'\\"")
    'invalid input syntax for type date: "…"'
    """
    for mark in marks:
        message = re.sub(f"{mark}[^{mark}]*{mark}", f"{mark}…{mark}", message)
    return message


def timeout_error(limit_s: float) -> QueryTimeout:
    """The error of a query stopped at ``limit_s`` seconds (the configured limit, to name in the message)."""
    return QueryTimeout(
        f"The query ran longer than the {limit_s:g} s limit and was stopped. Narrow it "
        "(a shorter start/end range, a coarser grain, fewer dimensions) or ask for a higher "
        "TAPFLOW_QUERY_TIMEOUT_S."
    )


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> Any:
    """The first value of the first row (of an aggregate, which always has one)."""
    row = con.execute(sql, params).fetchone()
    if row is None:
        raise DatabaseError(f"The query returned no row: {sql[:200]}")
    return row[0]


def read_catalog(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, str]]:
    """{"schema.table": {column: type}} of every schema but the service's own ``meta`` (what
    definitions may reference: a warehouse's schemas are its own to name)."""
    rows = con.execute(
        """
        SELECT table_schema, table_name, column_name, data_type
        FROM information_schema.columns
        WHERE table_catalog = current_database()
          AND table_schema NOT IN ('meta', 'information_schema', 'pg_catalog')
        ORDER BY table_schema, table_name, ordinal_position
        """
    ).fetchall()
    catalog: dict[str, dict[str, str]] = {}
    for schema, table, column, kind in rows:
        catalog.setdefault(f"{schema}.{table}".lower(), {})[column.lower()] = kind
    return catalog


def first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:500]
