"""Run one SELECT on a cursor of the shared connection: read-only, interruptible, errors translated."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import duckdb

from app.errors import DatabaseError, InvalidQuery, QueryTimeout

# What a caller's query can get wrong (types of literals, values out of range): a 400, not a 500.
CALLER_ERRORS = (duckdb.ConversionException, duckdb.OutOfRangeException, duckdb.InvalidInputException)


@dataclass(frozen=True)
class Rows:
    rows: list[tuple[Any, ...]]
    elapsed_ms: float


def harden(con: duckdb.DuckDBPyConnection) -> None:
    """No file access from SQL (read_csv, COPY, ATTACH ...) and no way to turn it back on."""
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


def run_select(
    con: duckdb.DuckDBPyConnection, sql: str, *, timeout_s: float, params: dict[str, Any] | None = None
) -> Rows:
    """Execute ``sql`` in a READ ONLY transaction on a fresh cursor; interrupt it after ``timeout_s``."""
    cur = con.cursor()
    timer = threading.Timer(timeout_s, cur.interrupt)
    started = time.perf_counter()
    try:
        cur.execute("BEGIN TRANSACTION READ ONLY")
        timer.start()
        rows = cur.execute(sql, params).fetchall() if params else cur.execute(sql).fetchall()
        cur.execute("COMMIT")
    except duckdb.InterruptException:
        raise QueryTimeout(
            f"The query ran longer than the {timeout_s:g} s limit and was stopped. Narrow it "
            "(a shorter start/end range, a coarser grain, fewer dimensions) or ask for a higher "
            "TAPFLOW_QUERY_TIMEOUT_S."
        ) from None
    except CALLER_ERRORS as exc:
        raise InvalidQuery(f"The database could not evaluate this query: {_first_line(exc)}") from None
    except duckdb.BinderException as exc:
        if "compare" not in str(exc) and "cast" not in str(exc):
            raise DatabaseError(f"The query failed in the database: {_first_line(exc)}") from exc
        raise InvalidQuery(
            f"A value in the query does not fit the column's type: {_first_line(exc)}. Quote strings "
            "('growth'), write dates as DATE '2025-01-31'."
        ) from None
    except duckdb.Error as exc:
        raise DatabaseError(f"The query failed in the database: {_first_line(exc)}") from exc
    finally:
        timer.cancel()
        cur.close()
    return Rows(rows, (time.perf_counter() - started) * 1000)


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:500]
