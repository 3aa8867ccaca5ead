"""A query running past the timeout answers 504 in time, and the server keeps serving."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import httpx

from tests.helpers import env_for, running_server

SLOW_METRIC = """\
version: 2
metrics:
  - name: slow_metric
    description: Deliberately expensive per-row work, to exercise the query timeout.
    model: ref('stg_app__user_activities')
    calculation_method: sum
    expression: list_sum(generate_series(1, actions_taken * 1000))
    timestamp: activity_timestamp
"""


def test_timeout_answers_504_and_the_server_keeps_serving(project_copy: Path, demo_db: Path, tmp_path: Path) -> None:
    (project_copy / "metrics" / "slow.yml").write_text(SLOW_METRIC)
    db = tmp_path / "served.duckdb"
    shutil.copy(demo_db, db)
    timeout_s = 0.5
    with running_server(env_for(db, project_copy, TAPFLOW_QUERY_TIMEOUT_S=str(timeout_s))) as base:
        started = time.perf_counter()
        response = httpx.get(base + "/metrics/slow_metric", params={"grain": "day"}, timeout=30)
        elapsed = time.perf_counter() - started
        assert response.status_code == 504, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert "0.5 s limit" in response.json()["detail"]
        assert elapsed < timeout_s + 1.5, elapsed
        after = httpx.get(base + "/metrics/mrr", params={"grain": "month"}, timeout=30)
        assert after.status_code == 200 and after.json()["rows"]
