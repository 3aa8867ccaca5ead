"""POST /admin/seed (issue 12, point 11), on a real server: refused unless the service runs in demo
mode; in demo mode, bounded by TAPFLOW_SEED_TIMEOUT_S and rolled back past it."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest

from tests.helpers import env_for, running_server


@pytest.fixture
def db(demo_db: Path, tmp_path: Path) -> Path:
    target = tmp_path / "tapflow.duckdb"
    shutil.copy(demo_db, target)
    return target


def test_refused_outside_demo_mode(db: Path) -> None:
    with running_server(env_for(db)) as base:
        r = httpx.post(f"{base}/admin/seed", params={"scale": 0.05}, timeout=60)
        assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")
        assert "TAPFLOW_DEMO_MODE" in r.json()["detail"]


def test_a_seed_past_its_time_limit_is_rolled_back(db: Path) -> None:
    env = env_for(db, TAPFLOW_DEMO_MODE="true", TAPFLOW_SEED_TIMEOUT_S="0.05")
    with running_server(env) as base:
        before = httpx.get(f"{base}/metrics/mrr", params={"grain": "year"}, timeout=60).json()["rows"]
        version = httpx.get(f"{base}/health", timeout=60).json()["data_version"]
        r = httpx.post(f"{base}/admin/seed", params={"scale": 2}, timeout=120)
        assert r.status_code == 504, r.text
        assert "TAPFLOW_SEED_TIMEOUT_S" in r.json()["detail"] and "rolled back" in r.json()["detail"]
        assert httpx.get(f"{base}/health", timeout=60).json()["data_version"] == version
        after = httpx.get(f"{base}/metrics/mrr", params={"grain": "year"}, timeout=60).json()["rows"]
        assert after == before


def test_demo_mode_seeds(db: Path) -> None:
    with running_server(env_for(db, TAPFLOW_DEMO_MODE="true")) as base:
        version = httpx.get(f"{base}/health", timeout=60).json()["data_version"]
        r = httpx.post(f"{base}/admin/seed", params={"scale": 0.05}, timeout=120)
        assert r.status_code == 200, r.text
        assert r.json()["data_version"] > version
