"""The result cache: hits, ETag and 304, and never a stale answer after the data changes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from app.api.main import create_app
from app.api.rendering import Rendered, to_json, with_meta
from app.settings import Settings
from tests.api.conftest import app_client
from tests.conftest import ROOT

NEW_MRR = """SELECT month_start, sum(new_mrr) FROM entity.entity_subscriptions_monthly
             WHERE month_start >= DATE '2026-01-01' GROUP BY 1 ORDER BY 1"""


@pytest.fixture
def app_db(demo_db: Path, tmp_path: Path) -> Path:
    db = tmp_path / "cache.duckdb"
    shutil.copy(demo_db, db)
    return db


def oracle(client, sql: str) -> list:
    cur = client.app.state.tapflow.con.cursor()
    try:
        return [(str(a), float(b)) for a, b in cur.execute(sql).fetchall()]
    finally:
        cur.close()


def test_a_cached_body_is_the_fresh_body_but_its_cached_flag() -> None:
    """Where one half of a body needs the standard library's JSON (an integer past 64 bits, a HUGEINT) and the other
    is written by orjson (which writes 1e-05 as 0.00001), the cached copy still differs only in ``meta.cached``."""
    data = to_json({"rows": [{"x": 0.00001}]})
    about = {"params": {"p0": 2**70}, "cached": False}
    fresh = Rendered(with_meta(data, about), "application/json", {}, 'W/"x"', data, about)
    assert fresh.cached_body == fresh.body.replace(b'"cached":false', b'"cached":true')
    assert json.loads(fresh.body) == {"rows": [{"x": 0.00001}], "meta": about}
    assert json.loads(with_meta(b"{}", {"a": 1})) == {"meta": {"a": 1}}


def test_repeated_query_is_served_from_cache_with_etag_and_304(app_db: Path) -> None:
    with app_client(create_app(Settings(database=app_db, project_dir=ROOT))) as client:
        params = {"grain": "month", "start": "2026-01-01", "dimensions": "product_line"}
        first = client.get("/metrics/new_mrr", params=params)
        second = client.get("/metrics/new_mrr", params=dict(reversed(list(params.items()))))  # same query
        assert first.json()["meta"]["cached"] is False and second.json()["meta"]["cached"] is True
        assert first.json()["rows"] == second.json()["rows"]
        assert second.content == first.content.replace(b'"cached":false', b'"cached":true', 1)  # the same bytes
        assert first.headers["ETag"] == second.headers["ETag"] and first.headers["Cache-Control"] == "no-cache"
        steps = dict(part.strip().split(";dur=") for part in first.headers["Server-Timing"].split(","))
        assert list(steps) == ["compile", "db", "shape", "render"] and all(float(v) >= 0 for v in steps.values())
        assert "Server-Timing" not in second.headers  # a cached answer ran none of them
        again = client.get("/metrics/new_mrr", params=params, headers={"If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304 and again.content == b"" and again.headers["ETag"] == first.headers["ETag"]
        other = client.get("/metrics/new_mrr", params={**params, "start": "2026-02-01"})
        assert other.json()["meta"]["cached"] is False  # a different query is not answered from cache
        csv = client.get("/metrics/new_mrr", params=params, headers={"accept": "text/csv"})
        assert csv.headers["content-type"].startswith("text/csv")  # JSON and CSV are cached apart
        body = {"metrics": ["new_mrr", "churned_mrr"], "grain": "quarter"}
        posted = [client.post("/query", json=body).json()["meta"]["cached"] for _ in range(2)]
        assert posted == [False, True]


def test_a_data_change_is_never_served_stale(app_db: Path) -> None:
    with app_client(create_app(Settings(database=app_db, project_dir=ROOT, demo_mode=True))) as client:
        params = {"grain": "month", "start": "2026-01-01"}
        before = client.get("/metrics/new_mrr", params=params).json()
        assert client.get("/metrics/new_mrr", params=params).json()["meta"]["cached"] is True
        assert {r["period"]: r["new_mrr"] for r in before["rows"]} == pytest.approx(dict(oracle(client, NEW_MRR)))
        version = client.app.state.tapflow.data_version
        rebuilt = client.post("/admin/seed", params={"scale": 0.05}).json()  # a build rewrites the data
        assert rebuilt["data_version"] > version
        after = client.get("/metrics/new_mrr", params=params).json()
        assert after["meta"]["cached"] is False
        fresh = oracle(client, NEW_MRR)
        assert {r["period"]: r["new_mrr"] for r in after["rows"]} == pytest.approx(dict(fresh))
        assert dict(fresh) != {r["period"]: r["new_mrr"] for r in before["rows"]}


def test_ttl_zero_turns_the_cache_off(app_db: Path) -> None:
    with app_client(create_app(Settings(database=app_db, project_dir=ROOT, cache_ttl_s=0))) as client:
        flags = [client.get("/metrics/mrr", params={"grain": "year"}).json()["meta"]["cached"] for _ in range(2)]
        assert flags == [False, False]


def test_cache_expires_at_the_first_sunset() -> None:
    import time
    from datetime import datetime

    from app.api.caching import expiry

    now = datetime(2027, 3, 30, 23, 59, 0)
    left = expiry(300, [datetime(2027, 3, 31)], now) - time.monotonic()
    assert 55 < left <= 60


def test_the_cache_is_capped_in_bytes(app_db: Path) -> None:
    """Many distinct answers never hold more than TAPFLOW_CACHE_MAX_BYTES; an answer larger than an
    eighth of it is served but not kept (issue 12, point 6)."""
    settings = Settings(database=app_db, project_dir=ROOT, cache_max_bytes=2**20)
    with app_client(create_app(settings)) as client:
        big = {"grain": "day", "dimensions": "customer_tier,country", "limit": 100000}
        first = client.get("/metrics/mrr", params=big)
        assert len(first.content) > 2**20 // 8
        assert client.get("/metrics/mrr", params=big).json()["meta"]["cached"] is False
        for year in range(2024, 2027):  # distinct answers of about 100 KB each
            for tier in ("free", "starter", "growth", "enterprise"):
                params = {"grain": "day", "dimensions": "country", "start": f"{year}-01-01", "end": f"{year}-12-31"}
                r = client.get("/metrics/mrr", params=params | {"where": f"customer_tier = '{tier}'"})
                assert r.status_code == 200
        cache = client.get("/health").json()["cache"]
        assert 0 < cache["bytes"] <= cache["max_bytes"] == 2**20
        assert cache["entries"] < 12  # the oldest were dropped to stay under the cap


def test_result_cache_accounting() -> None:
    from dataclasses import dataclass

    from app.engine.cache import ResultCache

    @dataclass
    class Entry:
        nbytes: int
        expires_at: float = float("inf")

    cache: ResultCache[Entry] = ResultCache(max_entries=100, ttl_s=60, max_bytes=8000)
    for i in range(10):
        cache.put(i, Entry(900))
    assert cache.nbytes <= 8000 and len(cache) == 8 and cache.get(0) is None and cache.get(9) is not None
    cache.put(9, Entry(100))  # replacing an entry replaces its size
    assert cache.nbytes == 7 * 900 + 100
    cache.put("huge", Entry(1001))  # more than an eighth of the cap: never kept
    assert cache.get("huge") is None and cache.nbytes == 7 * 900 + 100
    cache.clear()
    assert cache.nbytes == 0 and len(cache) == 0
