"""Every limit is a clear 4xx (the query timeout, a 504, is tested in test_timeout.py)."""

from __future__ import annotations

import pytest

from app.settings import Settings

LIMITS = Settings()


@pytest.mark.parametrize(("params", "status", "text"), [
    ({"grain": "month", "limit": LIMITS.max_rows + 1}, 400, "maximum of"),
    ({"dimensions": ",".join(["customer_tier"] * 11)}, 400, "TAPFLOW_MAX_DIMENSIONS"),
    ({"where": "customer_tier = '" + "x" * LIMITS.max_where_chars + "'"}, 400, "TAPFLOW_MAX_WHERE_CHARS"),
    ({"where": "(" * 11 + "customer_tier = 'a'" + ")" * 11}, 400, "TAPFLOW_MAX_WHERE_DEPTH"),
])
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
    async def chunks():  # no Content-Length: the limit is enforced while the body streams in
        for _ in range(3):
            yield b"x" * 1_000_000

    chunked = client.post("/impact", content=chunks(), headers={"content-type": "text/x-diff"})
    assert chunked.status_code == 413


def test_the_service_keeps_serving_after_limits(client) -> None:
    assert client.get("/metrics/mrr", params={"grain": "year"}).status_code == 200
