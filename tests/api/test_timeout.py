"""A query running past the timeout answers 504, and the server keeps serving.

The slow metric does about a million steps of work per row (an edit distance between two
1,200-character strings) over the 390,000 rows of the teams' daily table: many minutes of CPU
at the test scale. The timeout is half a second. No assertion races the clock: the only bound
is that the 504 arrives within a minute, far less than the query itself would need.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.helpers import env_for, running_server

SLOW_METRIC = """\
version: 2
metrics:
  - name: slow_metric
    description: Deliberately expensive per-row work, to exercise the query timeout.
    model: ref('entity_teams_daily')
    calculation_method: sum
    expression: levenshtein(repeat('a', 1200) || CAST(team_id AS VARCHAR), repeat('b', 1200))
    timestamp: snapshot_date
    time_grains: [month]
"""
BOUND_S = 60  # the 504 arrives within this; the query alone would take many times longer


def test_timeout_answers_504_and_the_server_keeps_serving(project_copy: Path, demo_copy: Path) -> None:
    (project_copy / "metrics" / "slow.yml").write_text(SLOW_METRIC)
    env = env_for(demo_copy, project_copy, TAPFLOW_QUERY_TIMEOUT_S="0.5")
    with running_server(env) as base, httpx.Client(base_url=base, timeout=BOUND_S) as client:
        for _ in range(2):  # the slot and the connection are free again after a timeout
            response = client.get("/metrics/slow_metric", params={"grain": "month"})
            assert response.status_code == 504, response.text
            assert response.headers["content-type"] == "application/problem+json"
            body = response.json()
            assert body["status"] == 504 and "0.5 s limit" in body["detail"]
        after = client.get("/metrics/mrr", params={"grain": "month"})
        assert after.status_code == 200 and after.json()["rows"]
        assert client.get("/health").json()["status"] == "ok"
