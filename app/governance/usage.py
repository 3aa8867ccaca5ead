"""Usage events: journalled on the request path, inserted off it in batches.

``UsageRecorder.record`` appends the event to the journal file (journal.py; one ``write``) and
to an in-memory buffer; a writer thread inserts the buffer every ``flush_s`` seconds or as soon
as ``batch`` events wait, with the journal mark in the same transaction. ``close()`` writes
whatever is left, so a SIGTERM (uvicorn's graceful shutdown runs the lifespan exit) loses
nothing; after a SIGKILL the next start replays the journal, so nothing recorded is lost either.
A failed write keeps the events for the next attempt.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import astuple, dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from app.engine.statedb import StateCursor, StateDB
from app.governance.journal import UsageJournal, mark

log = logging.getLogger("tapflow.usage")
COLUMNS = (
    "event_time",
    "consumer",
    "method",
    "endpoint",
    "path",
    "metrics",
    "versions",
    "entities",
    "grain",
    "dimensions",
    "status",
    "row_count",
    "elapsed_ms",
    "deprecated",
    "query",
)
ROWS_PER_INSERT = 200
GROUPS = {  # group_by -> (key, how requests are counted once the metric list is unnested; {id}: the row's id)
    "metric": ("m.metric", "count(*)"),
    "consumer": ("e.consumer", "count(DISTINCT e.{id})"),
    "day": ("CAST(date_trunc('day', e.event_time) AS DATE)", "count(DISTINCT e.{id})"),
}
ROW_ID = {"duckdb": "rowid", "postgres": "id"}
# Each event's metrics, one row each (an event with none: one row, NULL), as the FROM of a summary
UNNESTED = {
    "duckdb": "meta.usage_events e, unnest(CASE WHEN len(e.metrics) = 0 THEN [NULL] ELSE e.metrics END) AS m(metric)",
    "postgres": "meta.usage_events e CROSS JOIN LATERAL unnest(CASE WHEN cardinality(e.metrics) = 0 "
    "THEN ARRAY[NULL]::text[] ELSE e.metrics END) AS m(metric)",
}


@dataclass(frozen=True)
class UsageEvent:
    event_time: datetime
    consumer: str
    method: str
    endpoint: str
    path: str
    metrics: list[str]
    versions: list[int | None]
    entities: list[str]
    grain: str | None
    dimensions: list[str]
    status: int
    row_count: int | None
    elapsed_ms: float
    deprecated: list[str]
    query: str = ""  # a GET request's query string (what warming asks again), else empty

    def values(self) -> list[Any]:
        """Every field, in order (a shallow ``astuple``: the journal's line)."""
        return [getattr(self, name) for name in COLUMNS]


def event_of(values: list[Any]) -> UsageEvent:
    """The event a journal line holds (``UsageEvent.values``, the time as ISO text)."""
    return UsageEvent(datetime.fromisoformat(values[0]), *values[1:])


class UsageRecorder:
    def __init__(
        self,
        state: StateDB,
        *,
        flush_s: float = 0.5,
        batch: int = 500,
        journal_dir: Path | None = None,
    ):
        self.state = state
        self.flush_s = flush_s
        self.batch = batch
        self.journal = UsageJournal(journal_dir) if journal_dir is not None else None
        self._journalled = 0  # bytes of the journal the buffer's last event ends at
        self._buffer: list[UsageEvent] = []
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tapflow-usage-writer", daemon=True)
        self.unauthenticated = 0  # requests refused for want of a valid key: counted, never events

    def start(self) -> None:
        self._thread.start()

    def record(self, event: UsageEvent) -> None:
        with self._lock:
            if self.journal is not None:
                self._journalled = self.journal.append(event.values())
            self._buffer.append(event)
            full = len(self._buffer) >= self.batch
        if full:
            self._wake.set()

    def flush(self) -> int:
        """Write every buffered event now; returns how many were written."""
        with self._write_lock:
            with self._lock:
                events, self._buffer = self._buffer, []
                journalled = self._journalled
            if not events:
                return 0
            try:
                with self.state.transaction() as cur:
                    insert_events(cur, events)
                    if self.journal is not None:
                        mark(cur, self.journal.path.name, journalled)
            except Exception:  # the database's error, whichever it is: the events wait for the next attempt
                log.exception("writing %d usage events failed; they are kept for the next attempt", len(events))
                with self._lock:
                    self._buffer[:0] = events
                return 0
            return len(events)

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        self.flush()
        if self.journal is not None:
            with self._lock:
                done = not self._buffer
            self.journal.close(remove=done)  # kept (and replayed at the next start) if a write failed
            if done:
                with self.state.transaction() as cur:
                    cur.execute("DELETE FROM meta.usage_journal WHERE file = ?", [self.journal.path.name])

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.flush_s)
            self._wake.clear()
            if self.journal is not None:
                self.journal.sync()  # to the disk too, at most one interval behind
            self.flush()


def insert_events(cur: StateCursor, events: list[UsageEvent]) -> None:
    """Insert ``events`` (in the caller's transaction)."""
    row = "(" + ", ".join("?" * len(COLUMNS)) + ")"
    for start in range(0, len(events), ROWS_PER_INSERT):
        chunk = events[start : start + ROWS_PER_INSERT]
        sql = f"INSERT INTO meta.usage_events ({', '.join(COLUMNS)}) VALUES " + ", ".join([row] * len(chunk))
        cur.execute(sql, [value for e in chunk for value in astuple(e)])


def summarize(
    state: StateDB,
    *,
    group_by: str,
    metric: str | None = None,
    consumer: str | None = None,
    since: date | datetime | None = None,
    until: date | datetime | None = None,
) -> list[dict[str, Any]]:
    """Requests, errors, rows and latency per metric, consumer or day (values bound as parameters)."""
    key, requests = GROUPS[group_by]  # code constants, chosen by an allow-listed name
    requests = requests.format(id=ROW_ID[state.dialect])
    sql = f"""
        SELECT {key} AS key, {requests} AS requests, count(*) FILTER (WHERE e.status >= 400) AS errors,
               coalesce(sum(e.row_count), 0) AS rows,
               CAST(round(CAST(avg(e.elapsed_ms) AS NUMERIC), 3) AS DOUBLE PRECISION) AS avg_elapsed_ms,
               count(DISTINCT e.consumer) AS consumers, max(e.event_time) AS last_seen
        FROM {UNNESTED[state.dialect]}
        WHERE (CAST(? AS VARCHAR) IS NULL OR m.metric = ?) AND (CAST(? AS VARCHAR) IS NULL OR e.consumer = ?)
          AND (CAST(? AS TIMESTAMP) IS NULL OR e.event_time >= ?) AND (CAST(? AS TIMESTAMP) IS NULL OR e.event_time < ?)
        GROUP BY 1 ORDER BY requests DESC, key
    """
    params = [metric, metric, consumer, consumer, since, since, until, until]
    with state.transaction() as cur:
        rows = cur.execute(sql, params).fetchall()
    names = ("key", "requests", "errors", "rows", "avg_elapsed_ms", "consumers", "last_seen")
    return [dict(zip(names, r, strict=True)) | {"last_seen": r[-1].isoformat() if r[-1] else None} for r in rows]


CONSUMERS_OF = {  # per consumer of an object: requests in 7 and 30 days and in all, last seen, the metrics asked
    "duckdb": """
        SELECT consumer,
               count(*) FILTER (WHERE event_time >= ?) AS requests_7d,
               count(*) FILTER (WHERE event_time >= ?) AS requests_30d,
               count(*) AS requests_total, max(event_time) AS last_seen,
               list_distinct(flatten(list(metrics))) AS metrics
        FROM meta.usage_events
        WHERE list_contains(deprecated, ?) OR list_contains(metrics, ?)
        GROUP BY consumer ORDER BY requests_30d DESC, consumer
    """,
    "postgres": """
        SELECT e.consumer,
               count(*) FILTER (WHERE e.event_time >= ?) AS requests_7d,
               count(*) FILTER (WHERE e.event_time >= ?) AS requests_30d,
               count(*) AS requests_total, max(e.event_time) AS last_seen,
               (SELECT array_agg(DISTINCT m) FROM meta.usage_events u, unnest(u.metrics) AS m
                WHERE u.consumer = e.consumer AND (? = ANY(u.deprecated) OR ? = ANY(u.metrics))) AS metrics
        FROM meta.usage_events e
        WHERE ? = ANY(e.deprecated) OR ? = ANY(e.metrics)
        GROUP BY e.consumer ORDER BY requests_30d DESC, e.consumer
    """,
}


def consumers_of(state: StateDB, name: str, now: datetime) -> list[dict[str, Any]]:
    """Who touched a (deprecated) object: requests in the last 7 and 30 days, and last seen."""
    names = [name, name] * (2 if state.dialect == "postgres" else 1)
    with state.transaction() as cur:
        params = [now - timedelta(days=7), now - timedelta(days=30), *names]
        rows = cur.execute(CONSUMERS_OF[state.dialect], params).fetchall()
    return [
        {
            "consumer": c,
            "requests_7d": r7,
            "requests_30d": r30,
            "requests_total": total,
            "last_seen": last.isoformat() if last else None,
            "metrics": sorted(ms or []),
        }
        for c, r7, r30, total, last, ms in rows
    ]


METRIC_CONSUMERS = {  # per consumer of a metric since a time: requests, last seen, the versions answered
    "duckdb": """
        SELECT consumer, count(*) AS requests, max(event_time) AS last_seen,
               list_sort(list_distinct(list(version) FILTER (WHERE version IS NOT NULL))) AS versions
        FROM (SELECT consumer, event_time, unnest(metrics) AS metric, unnest(versions) AS version
              FROM meta.usage_events WHERE event_time >= ? AND list_contains(metrics, ?))
        WHERE metric = ?
        GROUP BY consumer ORDER BY requests DESC, consumer
    """,
    "postgres": """
        SELECT s.consumer, count(*) AS requests, max(s.event_time) AS last_seen,
               array_agg(DISTINCT s.version ORDER BY s.version) FILTER (WHERE s.version IS NOT NULL) AS versions
        FROM (SELECT e.consumer, e.event_time, u.metric, u.version
              FROM meta.usage_events e CROSS JOIN LATERAL unnest(e.metrics, e.versions) AS u(metric, version)
              WHERE e.event_time >= ? AND ? = ANY(e.metrics)) AS s
        WHERE s.metric = ?
        GROUP BY s.consumer ORDER BY requests DESC, s.consumer
    """,
}


def metric_consumers(state: StateDB, metric: str, since: datetime) -> list[dict[str, Any]]:
    """Consumers of one metric since a time: requests, last seen, and the versions they got."""
    with state.transaction() as cur:
        rows = cur.execute(METRIC_CONSUMERS[state.dialect], [since, metric, metric]).fetchall()
    return [
        {"consumer": c, "requests": n, "last_seen": last.isoformat(), "versions": list(v or [])}
        for c, n, last, v in rows
    ]
