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
    con.execute("SET enable_progress_bar = false")  # a server has no terminal to draw on
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


class Watchdog:
    """One thread that interrupts queries past their deadline (no thread per query)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._deadlines: dict[int, tuple[float, duckdb.DuckDBPyConnection]] = {}
        self._next = 0
        self._thread: threading.Thread | None = None

    def watch(self, cur: duckdb.DuckDBPyConnection, timeout_s: float) -> int:
        with self._cond:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="tapflow-query-watchdog", daemon=True)
                self._thread.start()
            self._next += 1
            self._deadlines[self._next] = (time.monotonic() + timeout_s, cur)
            self._cond.notify()
            return self._next

    def release(self, token: int) -> None:
        with self._cond:
            self._deadlines.pop(token, None)

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                for token, (deadline, cur) in list(self._deadlines.items()):
                    if deadline <= now:
                        del self._deadlines[token]
                        cur.interrupt()
                soonest = min((d for d, _ in self._deadlines.values()), default=None)
                self._cond.wait(None if soonest is None else max(0.0, soonest - now))


WATCHDOG = Watchdog()


def run_select(
    con: duckdb.DuckDBPyConnection, sql: str, *, timeout_s: float, params: dict[str, Any] | None = None
) -> Rows:
    """Execute ``sql`` in a READ ONLY transaction on a fresh cursor; interrupt it after ``timeout_s``."""
    cur = con.cursor()
    started = time.perf_counter()
    token = WATCHDOG.watch(cur, timeout_s)
    try:
        cur.execute("BEGIN TRANSACTION READ ONLY")
        rows = cur.execute(sql, params).fetchall() if params else cur.execute(sql).fetchall()
        cur.execute("COMMIT")
    except duckdb.InterruptException:
        raise timeout_error(timeout_s) from None
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
        WATCHDOG.release(token)
        cur.close()
    return Rows(rows, (time.perf_counter() - started) * 1000)


def timeout_error(limit_s: float) -> QueryTimeout:
    return QueryTimeout(
        f"The query ran longer than the {limit_s:g} s limit and was stopped. Narrow it "
        "(a shorter start/end range, a coarser grain, fewer dimensions) or ask for a higher "
        "TAPFLOW_QUERY_TIMEOUT_S."
    )


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:500]
