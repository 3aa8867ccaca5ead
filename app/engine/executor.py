"""Run one SELECT on a cursor of the shared connection: read-only, one statement, and interruptible.

Its duckdb errors are translated by ``database.query_errors`` (the one seam for duckdb errors).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import duckdb

from app.engine.database import query_errors
from app.errors import DatabaseError
from app.memo import Memo


@dataclass(frozen=True)
class Rows:
    rows: list[tuple[Any, ...]]
    elapsed_ms: float


class Watchdog:
    """One thread that interrupts queries past their deadline (no thread per query).

    The thread sleeps until the soonest deadline, and never longer than ``PATROL_S``: a query's deadline later
    than the thread's next wake needs no signal, so the usual query (the same timeout as the one before it) does
    not wake the thread at all; a query's thread then spends no time handing off to it."""

    PATROL_S = 0.5

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._deadlines: dict[int, tuple[float, duckdb.DuckDBPyConnection]] = {}
        self._next = 0
        self._thread: threading.Thread | None = None
        self._wakes_at = 0.0  # time.monotonic() of the thread's next look at the deadlines

    def watch(self, cur: duckdb.DuckDBPyConnection, timeout_s: float) -> int:
        deadline = time.monotonic() + timeout_s
        with self._cond:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="tapflow-query-watchdog", daemon=True)
                self._thread.start()
            self._next += 1
            self._deadlines[self._next] = (deadline, cur)
            if deadline < self._wakes_at or self._wakes_at == 0.0:
                self._cond.notify()
            return self._next

    def release(self, token: int) -> None:
        with self._cond:
            self._deadlines.pop(token, None)

    @contextmanager
    def watching(self, cur: duckdb.DuckDBPyConnection, timeout_s: float) -> Iterator[None]:
        """Interrupt ``cur`` if the block is still running after ``timeout_s``."""
        token = self.watch(cur, timeout_s)
        try:
            yield
        finally:
            self.release(token)

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                for token, (deadline, cur) in list(self._deadlines.items()):
                    if deadline <= now:
                        del self._deadlines[token]
                        cur.interrupt()
                soonest = min((d for d, _ in self._deadlines.values()), default=now + self.PATROL_S)
                wait = max(0.0, min(soonest - now, self.PATROL_S))
                self._wakes_at = now + wait
                self._cond.wait(wait)


WATCHDOG = Watchdog()
READ_ONLY = "BEGIN TRANSACTION READ ONLY"


def run_select(
    con: duckdb.DuckDBPyConnection, sql: str, *, timeout_s: float, params: dict[str, Any] | None = None
) -> Rows:
    """Execute ``sql``, one statement, in a READ ONLY transaction on a fresh cursor; interrupt it after
    ``timeout_s``. Several statements are refused: a ``COMMIT;`` first would end the transaction that keeps the
    rest from writing.

    The transaction ends with the cursor: closing it rolls back, which for a transaction that cannot write is
    all a COMMIT would do, a statement (about 0.2 ms) sooner."""
    started = time.perf_counter()
    cur = con.cursor()
    try:
        with query_errors(timeout_s), WATCHDOG.watching(cur, timeout_s):
            statement = PARSED.statement(cur, sql)
            cur.execute(PARSED.statement(cur, READ_ONLY))  # parsed once too: 0.1 ms a query sooner
            rows = cur.execute(statement, params).fetchall() if params else cur.execute(statement).fetchall()
    finally:
        cur.close()
    return Rows(rows, (time.perf_counter() - started) * 1000)


class Parsed:
    """The statements DuckDB parsed, by their SQL text: a query shape's SQL is parsed once, not on every answer
    (half a millisecond of a compiled query's run, about 14 KB kept each). Executing one runs a copy of it."""

    SIZE = 512

    def __init__(self) -> None:
        self._known: Memo[str, duckdb.Statement] = Memo(self.SIZE)

    def statement(self, cur: duckdb.DuckDBPyConnection, sql: str) -> duckdb.Statement:
        known = self._known.get(sql)
        if known is not None:
            return known
        statements = cur.extract_statements(sql)
        if len(statements) != 1:
            raise DatabaseError(f"A query must be one SQL statement; this text holds {len(statements)}.")
        return self._known.put(sql, statements[0])


PARSED = Parsed()
