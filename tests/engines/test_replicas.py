"""Service replicas sharing a PostgreSQL state database (TAPFLOW_STATE_DATABASE) and a PostgreSQL warehouse.

The governance queries are written twice where DuckDB's lists and PostgreSQL's arrays differ: the same events
give the same summaries, consumers and registry on both. Two real servers under a concurrent load of both, then
SIGTERM: every answered metric request is one usage event (none lost, none twice), and either server's
/deprecations shows the consumers of both.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import httpx
import psycopg
import pytest

from app.definitions.loader import load_project
from app.engine.migrations import apply_migrations
from app.engine.statedb import DuckDBState, PostgresState, StateDB
from app.governance.usage import UsageEvent, consumers_of, insert_events, metric_consumers, summarize
from app.governance.versions import sync_registry, version_history
from tests.conftest import ROOT
from tests.helpers import Server, env_for
from tests.postgres_server import new_database

NOW = datetime(2026, 11, 26, 12)


def _events() -> list[UsageEvent]:
    """Three days of requests by three consumers, deprecated objects among them, one event with no metric."""
    out = []
    for i in range(60):
        metrics = [["mrr"], ["arr_by_customer"], ["mrr", "arpa"], []][i % 4]
        out.append(
            UsageEvent(
                event_time=NOW - timedelta(hours=7 * i),
                consumer=["board", "finance-nb", "ci"][i % 3],
                method="GET",
                endpoint="/metrics/{name}" if metrics else "/health",
                path=f"/metrics/{','.join(metrics)}" if metrics else "/health",
                metrics=metrics,
                versions=[1 if i % 5 else None for _ in metrics],
                entities=["customers"] if metrics else [],
                grain="month" if i % 2 else None,
                dimensions=["customer_tier"] if i % 6 == 0 else [],
                status=200 if i % 7 else 404,
                row_count=i if i % 7 else None,
                elapsed_ms=1.25 * i,
                deprecated=["arr_by_customer", "legacy.customer_facts"] if "arr_by_customer" in metrics else [],
                query="grain=month" if i % 2 else "",
            )
        )
    return out


@pytest.fixture
def stores(pg_server: str, tmp_path: Path) -> Any:
    con = duckdb.connect(str(tmp_path / "state.duckdb"))
    apply_migrations(con, None)
    on_pg = PostgresState(new_database(pg_server, "state_contract"))
    yield DuckDBState(con), on_pg
    on_pg.close()
    con.close()


def _fill(store: StateDB) -> None:
    with store.transaction() as cur:
        insert_events(cur, _events())


def test_state_on_postgres_answers_as_on_duckdb(stores: tuple[StateDB, StateDB]) -> None:
    duck, pg = stores
    for store in stores:
        _fill(store)
    for group_by in ("metric", "consumer", "day"):
        for metric in (None, "mrr"):
            expected = summarize(duck, group_by=group_by, metric=metric, since=NOW - timedelta(days=10))
            assert summarize(pg, group_by=group_by, metric=metric, since=NOW - timedelta(days=10)) == expected
            assert expected, (group_by, metric)
    for name in ("arr_by_customer", "legacy.customer_facts", "mrr"):
        assert consumers_of(pg, name, NOW) == consumers_of(duck, name, NOW)
        assert metric_consumers(pg, name, NOW - timedelta(days=30)) == metric_consumers(
            duck, name, NOW - timedelta(days=30)
        )
    by_consumer = {r["key"]: r["requests"] for r in summarize(pg, group_by="consumer")}
    assert by_consumer == {"board": 20, "finance-nb": 20, "ci": 20}  # 60 events, every third each
    project = load_project(ROOT, None)
    assert sync_registry(pg, project, NOW) == sync_registry(duck, project, NOW) == []
    assert version_history(pg, project, "mrr") == version_history(duck, project, "mrr")


LOAD = [  # (path, params): metric requests, each one usage event; a deprecated metric among them
    ("/metrics/mrr", {"grain": "month", "start": "2026-01-01"}),
    ("/metrics/arr_by_customer", {"grain": "month"}),
    ("/metrics/active_customers", {"grain": "quarter", "dimensions": "customer_tier"}),
    ("/metrics/mrr", {"grain": "month", "format": "csv"}),
]


def test_two_replicas_share_usage_and_deprecations(pg_server: str, pg_demo: str, tmp_path: Path) -> None:
    state_url = new_database(pg_server, "replicas_state")
    servers = [  # generous start and stop bounds: a busy 2-core machine starts two servers at once
        Server(
            env_for(tmp_path / f"replica{i}.duckdb", TAPFLOW_WAREHOUSE=pg_demo, TAPFLOW_STATE_DATABASE=state_url),
            wait_s=300,
            stop_s=300,
        )
        for i in (1, 2)
    ]
    answered = {"replica-1": 0, "replica-2": 0}
    lock = threading.Lock()

    def load(server: Server, consumer: str, rounds: int) -> None:
        with httpx.Client(base_url=server.base, timeout=300, headers={"X-Consumer": consumer}) as client:
            for i in range(rounds):
                path, params = LOAD[i % len(LOAD)]
                response = client.get(path, params=params)
                assert response.status_code == 200, (path, response.status_code, response.text[:500])
                with lock:
                    answered[consumer] += 1

    with ExitStack() as stack, ThreadPoolExecutor(max_workers=6) as pool:
        for started in pool.map(stack.enter_context, servers):  # both start at once: the registry upserts race
            assert started is not None
        jobs = [pool.submit(load, s, f"replica-{i}", 30) for i, s in enumerate(servers, 1) for _ in range(3)]
        for job in jobs:
            job.result()
    # both stopped by SIGTERM (leaving the ExitStack): each wrote what it had buffered
    with psycopg.connect(state_url) as conn:
        rows = conn.execute("SELECT consumer, count(*) FROM meta.usage_events GROUP BY consumer").fetchall()
        registry = conn.execute(
            "SELECT count(*), count(DISTINCT (metric, version)) FROM meta.metric_versions"
        ).fetchone()
    assert dict(rows) == answered == {"replica-1": 90, "replica-2": 90}
    assert registry[0] == registry[1] > 0  # one row per served version, whichever replica wrote it
    for server in servers:
        with Server(server.env, wait_s=300) as again:
            deprecated = httpx.get(again.base + "/deprecations").json()["deprecations"]
            arr = next(d for d in deprecated if d["name"] == "arr_by_customer")
            assert {c["consumer"] for c in arr["consumers"]} == {"replica-1", "replica-2"}
            assert sum(c["requests_total"] for c in arr["consumers"]) == 2 * 3 * (
                30 // len(LOAD) + (30 % len(LOAD) > 1)
            )
