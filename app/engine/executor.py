"""Run one SELECT on a cursor of the shared connection: read-only and interruptible.

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

from app.engine.database import query_errors, transaction


@dataclass(frozen=True)
class Rows:
    rows: list[tuple[Any, ...]]
    elapsed_ms: float


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
                soonest = min((d for d, _ in self._deadlines.values()), default=None)
                self._cond.wait(None if soonest is None else max(0.0, soonest - now))


WATCHDOG = Watchdog()


def run_select(
    con: duckdb.DuckDBPyConnection, sql: str, *, timeout_s: float, params: dict[str, Any] | None = None
) -> Rows:
    """Execute ``sql`` in a READ ONLY transaction on a fresh cursor; interrupt it after ``timeout_s``."""
    started = time.perf_counter()
    with query_errors(timeout_s), transaction(con, read_only=True) as cur, WATCHDOG.watching(cur, timeout_s):
        rows = cur.execute(sql, params).fetchall() if params else cur.execute(sql).fetchall()
    return Rows(rows, (time.perf_counter() - started) * 1000)
