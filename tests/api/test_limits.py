"""Every limit is a clear 4xx (the query timeout, a 504, is tested in test_timeout.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.api.main import create_app
from app.settings import Settings
from tests.api.conftest import app_client
from tests.conftest import ROOT
from tests.helpers import env_for, running_server

LIMITS = Settings()


@pytest.mark.parametrize(
    ("params", "status", "text"),
    [
        ({"grain": "month", "limit": LIMITS.max_rows + 1}, 400, "maximum of"),
        ({"dimensions": ",".join(["customer_tier"] * 11)}, 400, "TAPFLOW_MAX_DIMENSIONS"),
        ({"where": "customer_tier = '" + "x" * LIMITS.max_where_chars + "'"}, 400, "TAPFLOW_MAX_WHERE_CHARS"),
        ({"where": "(" * 11 + "customer_tier = 'a'" + ")" * 11}, 400, "TAPFLOW_MAX_WHERE_DEPTH"),
    ],
)
def test_query_limits(client, params, status, text) -> None:
    r = client.get("/metrics/mrr", params=params)
    assert r.status_code == status and r.headers["content-type"] == "application/problem+json"
    assert text in r.json()["detail"]


def test_too_many_metrics(client) -> None:
    r = client.post("/query", json={"metrics": [f"m{i}" for i in range(LIMITS.max_metrics + 1)]})
    assert r.status_code == 400 and "TAPFLOW_MAX_METRICS" in r.json()["detail"]


def test_request_body_too_large(client) -> None:
    big = {"files": {"metrics/revenue.yml": "#" * (LIMITS.max_body_bytes + 10)}}
    r = client.post("/impact", json=big)
    assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json"
    assert "TAPFLOW_MAX_BODY_BYTES" in r.json()["detail"]


def test_a_streamed_body_without_length_is_cut_at_the_limit(demo_copy: Path) -> None:
    """No Content-Length: the limit is enforced while the body streams in (over real HTTP, in chunks)."""

    def chunks() -> Iterator[bytes]:
        for _ in range(3 * LIMITS.max_body_bytes // 100_000 + 1):
            yield b"x" * 100_000

    with running_server(env_for(demo_copy)) as base:
        chunked = httpx.post(base + "/impact", content=chunks(), headers={"content-type": "text/x-diff"}, timeout=60)
        assert chunked.status_code == 413 and chunked.headers["content-type"] == "application/problem+json"
        assert "TAPFLOW_MAX_BODY_BYTES" in chunked.json()["detail"]
        assert httpx.get(base + "/metrics/mrr", params={"grain": "year"}, timeout=60).status_code == 200


def test_the_service_keeps_serving_after_limits(client) -> None:
    assert client.get("/metrics/mrr", params={"grain": "year"}).status_code == 200


def test_raising_the_where_limits_in_settings_takes_effect(demo_copy: Path) -> None:
    """Past what the compiler once hard-coded (4,000 characters, 20 parentheses): the settings decide."""

    long_where = "customer_tier IN (" + ", ".join(f"'tier_{i:04d}'" for i in range(400)) + ", 'growth')"
    deep_where = "(" * 25 + "customer_tier = 'growth'" + ")" * 25
    assert len(long_where) > 4000
    raised = Settings(database=demo_copy, project_dir=ROOT, max_where_chars=6000, max_where_depth=30)
    with app_client(create_app(raised)) as c:
        for where in (long_where, deep_where):
            r = c.get("/metrics/mrr", params={"grain": "month", "where": where})
            assert r.status_code == 200, r.text[:300]
            assert r.json()["rows"], "growth customers have MRR"
    lowered = Settings(database=demo_copy, project_dir=ROOT, max_where_chars=6000, max_where_depth=24)
    with app_client(create_app(lowered)) as c:
        r = c.get("/metrics/mrr", params={"grain": "month", "where": deep_where})
        assert r.status_code == 400 and "at most 24 (TAPFLOW_MAX_WHERE_DEPTH)" in r.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {"metrics": ["mrr"], "start": 1700000000, "end": "2025-01-01"},
        {"metrics": ["mrr"], "grain": "month", "start": "9999-12-31T23:59:59-05:00"},
        {"metrics": ["mrr"], "grain": "month", "order": ["-mrr"] * 50_000},
    ],
    ids=["numeric start", "start out of range", "order repeated"],
)
def test_odd_bodies_are_a_400_not_a_500(client, body) -> None:
    r = client.post("/query", json=body)
    assert r.status_code == 400, r.text[:300]
    assert r.headers["content-type"] == "application/problem+json"
