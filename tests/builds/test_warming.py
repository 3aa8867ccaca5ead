"""Warm after refresh (issue 14 point 5), on a real server with keys on: after a build changes the data, the
answers most asked for in the last 24 hours are computed again into the result cache; the next request of
one is a cache hit with the new data's answer, and warming records no usage event of its own."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import duckdb
import httpx

from tests.helpers import env_for, running_server

ASKED = [  # (path, params, times asked)
    ("/metrics/mrr", {"grain": "month"}, 3),
    ("/metrics/device_events", {"grain": "day", "dimensions": "device_type"}, 2),
    ("/metrics/team_size", {"grain": "week"}, 1),
]


def keys_file(folder: Path) -> Path:
    path = folder / "keys.yml"
    keys = [
        {"name": "dashboard", "key_sha256": hashlib.sha256(b"dash-key").hexdigest(), "scopes": ["read"]},
        {"name": "ops", "key_sha256": hashlib.sha256(b"ops-key").hexdigest(), "scopes": ["read", "admin"]},
    ]
    path.write_text(json.dumps({"keys": keys}))
    return path


def test_the_most_asked_answers_are_cached_again_after_a_build(demo_copy: Path, tmp_path: Path) -> None:
    env = env_for(demo_copy, TAPFLOW_API_KEYS_FILE=str(keys_file(tmp_path)), TAPFLOW_WARM_QUERIES="2")
    dash = {"Authorization": "Bearer dash-key"}
    with running_server(env) as url, httpx.Client(base_url=url, timeout=120) as client:
        before = {}
        for path, params, times in ASKED:
            for _ in range(times):
                r = client.get(path, params=params, headers=dash)
                assert r.status_code == 200
            before[path] = r.headers["etag"]
        ops = {"Authorization": "Bearer ops-key"}
        started = client.post("/admin/builds", json={}, headers=ops)
        assert started.status_code == 202, started.text
        run_id = started.json()["run_id"]
        deadline = time.monotonic() + 300
        job = {}
        while time.monotonic() < deadline:
            job = client.get(f"/admin/builds/{run_id}", headers=ops).json()
            if job["status"] != "running" and job["warmed"] is not None:
                break
            time.sleep(0.2)
        assert job["status"] == "success" and job["warmed"] == 2, job
        for path, params, _ in ASKED:
            r = client.get(path, params=params, headers=dash)
            assert r.status_code == 200
            assert r.headers["etag"] != before[path]  # the new data version's answer
            # the two most asked for were computed before anyone asked; the third waits for its first request
            assert r.json()["meta"]["cached"] is (path != "/metrics/team_size"), path
    with duckdb.connect(str(demo_copy), read_only=True) as con:
        events = dict(
            con.execute(
                "SELECT path, count(*) FROM meta.usage_events WHERE endpoint = '/metrics/{name}' GROUP BY 1"
            ).fetchall()
        )
        queries = {q for (q,) in con.execute("SELECT DISTINCT query FROM meta.usage_events").fetchall()}
    assert events == {path: times + 1 for path, _, times in ASKED}  # warming asked 2, recorded none
    assert "grain=month" in queries
