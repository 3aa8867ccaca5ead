"""A SIGKILL loses no usage event that was recorded (issue 12, point 5): the journal is replayed at
the next start, exactly once. The writer is held back (a 60 s flush interval, batches of 100,000) so
that without the journal every event would still be in memory when the server is killed."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest

from tests.helpers import Server, env_for

N = 120


def requests_recorded(base: str) -> int:
    rows = httpx.get(f"{base}/usage", params={"group_by": "consumer"}, timeout=60).json()["rows"]
    return sum(r["requests"] for r in rows if r["key"] == "journal-test")


@pytest.mark.parametrize("journal", ["true", "false"])
def test_sigkill_loses_no_recorded_event_and_replays_once(demo_db: Path, tmp_path: Path, journal: str) -> None:
    db = tmp_path / "tapflow.duckdb"
    shutil.copy(demo_db, db)
    env = env_for(db, TAPFLOW_USAGE_FLUSH_S="60", TAPFLOW_USAGE_BATCH="100000", TAPFLOW_USAGE_JOURNAL=journal)
    server = Server(env).__enter__()
    try:
        with httpx.Client(base_url=server.base, timeout=60, headers={"x-consumer": "journal-test"}) as client:
            for i in range(N):
                assert client.get("/metrics/mrr", params={"grain": "year", "limit": i + 1}).status_code == 200
            assert client.get("/health").status_code == 200  # the last event's request cycle is over
    finally:
        server.kill()
    with Server(env) as restarted:
        recorded = requests_recorded(restarted.base)
        if journal == "true":
            assert recorded == N
            assert not list((tmp_path / "tapflow.duckdb.usage-journal").glob("*.jsonl"))[1:]  # only its own
        else:  # the premise: without the journal, the held-back buffer dies with the process
            assert recorded == 0
    with Server(env) as again:  # replayed once: a second start adds nothing
        assert requests_recorded(again.base) == (N if journal == "true" else 0)


def test_a_journal_line_is_the_event_in_column_order() -> None:
    from dataclasses import fields
    from datetime import datetime

    from app.governance.usage import COLUMNS, UsageEvent, event_of

    assert tuple(f.name for f in fields(UsageEvent)) == COLUMNS
    event = UsageEvent(datetime(2026, 12, 1, 9), "ci", "GET", "/metrics/{name}", "/metrics/mrr", ["mrr"], [1], [],
                       "month", [], 200, 3, 1.5, [])  # fmt: skip
    assert event_of([event.event_time.isoformat(), *event.values()[1:]]) == event
