"""Builds inside a real running service: it holds the DuckDB file, so it builds while it answers."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import duckdb
import httpx
import pytest

from tests.helpers import env_for, running_server, tapflow

OCTOBER = {"grain": "month", "start": "2026-10-01", "end": "2026-11-01"}
ACTIVE_DAYS = """
SELECT count(*) FROM (
    SELECT DISTINCT u.team_id, CAST(a.activity_timestamp AS DATE), a.user_id
    FROM staging.stg_app__user_activities a JOIN staging.stg_crm__users u USING (user_id)
    WHERE a.activity_timestamp >= TIMESTAMP '2026-10-01' AND a.activity_timestamp < TIMESTAMP '2026-11-01')
"""


def wait_for(client: httpx.Client, run_id: str, limit_s: float = 300) -> dict:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        job = client.get(f"/admin/builds/{run_id}").json()
        if job["status"] != "running":
            return job
        time.sleep(0.2)
    raise AssertionError(f"build {run_id} still running after {limit_s}s")


def test_queries_keep_answering_while_the_service_rebuilds_what_they_read(demo_db: Path, tmp_path: Path) -> None:
    copy = tmp_path / "tapflow.duckdb"
    shutil.copy(demo_db, copy)
    with duckdb.connect(str(copy)) as con:
        before = con.execute(ACTIVE_DAYS).fetchone()[0]
        # new inputs the built table does not have yet: users active on a day of October they were not
        con.execute(
            """
            INSERT INTO staging.stg_app__user_activities
            SELECT u.user_id, 998000000 + row_number() OVER (), TIMESTAMP '2026-10-12 09:00', 3, 'reports', now()
            FROM staging.stg_crm__users u
            WHERE u.deactivated_at IS NULL AND u.created_at < DATE '2026-10-01' AND NOT EXISTS (
                SELECT 1 FROM staging.stg_app__user_activities a WHERE a.user_id = u.user_id
                AND CAST(a.activity_timestamp AS DATE) = DATE '2026-10-12')
            ORDER BY u.user_id LIMIT 25
            """
        )
        after = con.execute(ACTIVE_DAYS).fetchone()[0]
    assert after == before + 25
    with running_server(env_for(copy)) as url, httpx.Client(base_url=url, timeout=60) as client:
        first = client.get("/metrics/team_active_user_days", params=OCTOBER)
        assert first.json()["rows"][0]["team_active_user_days"] == before
        seen: list[tuple[int, float]] = []
        stop = threading.Event()

        def stream() -> None:
            with httpx.Client(base_url=url, timeout=60) as c:
                while not stop.is_set():
                    r = c.get("/metrics/team_active_user_days", params=OCTOBER)
                    seen.append((r.status_code, r.json()["rows"][0]["team_active_user_days"] if r.is_success else -1))

        reader = threading.Thread(target=stream)
        reader.start()
        try:
            started = client.post("/admin/builds", json={"tables": ["entity.entity_teams_daily"], "full_refresh": True})
            assert started.status_code == 202, started.text
            assert started.headers["location"] == f"/admin/builds/{started.json()['run_id']}"
            job = wait_for(client, started.json()["run_id"])
        finally:
            stop.set()
            reader.join()
        assert job["status"] == "success", job
        assert job["tables"][0]["batches"] == 34
        assert len(seen) >= 5
        assert {status for status, _ in seen} == {200}  # no query error while it built
        assert {value for _, value in seen} <= {before, after}  # the old month or the new, never half of one
        last = client.get("/metrics/team_active_user_days", params=OCTOBER)
        assert last.json()["rows"][0]["team_active_user_days"] == after
        assert last.headers["etag"] != first.headers["etag"]
        assert client.get("/admin/builds/nope").status_code == 404
        busy = tapflow("build", env=env_for(copy))  # the service holds the file: the CLI names --url
        assert busy.returncode == 1 and "--url" in busy.stderr
        for command in (["query", "mrr", "--grain", "month"], ["deprecations"], ["status"], ["test"]):
            refused = tapflow(*command, env=env_for(copy))
            assert refused.returncode == 1 and "--url" in refused.stderr, command
        remote = tapflow("status", "--url", url, env=env_for(copy))
        assert remote.returncode == 0 and "entity.entity_teams_daily" in remote.stdout
        queried = tapflow(
            "query",
            "team_active_user_days",
            "--grain",
            "month",
            "--start",
            "2026-10-01",
            "--end",
            "2026-11-01",
            "--url",
            url,
            env=env_for(copy),
        )
        assert queried.returncode == 0 and str(after) in queried.stdout


def test_a_duplicate_key_in_a_source_fails_the_unique_test_everywhere_it_shows(demo_db: Path, tmp_path: Path) -> None:
    copy = tmp_path / "tapflow.duckdb"
    shutil.copy(demo_db, copy)
    with duckdb.connect(str(copy)) as con:
        con.execute(
            "INSERT INTO staging.stg_crm__customers SELECT * FROM staging.stg_crm__customers WHERE customer_id = 7"
        )
    env = env_for(copy)
    built = tapflow("build", "entity.entity_customers", "entity.entity_customers_daily", env=env, timeout=300)
    assert built.returncode == 1
    assert "FAIL unique(customer_id) on entity.entity_customers: 1 failing; sample: 7" in built.stdout
    tested = tapflow("test", env=env)
    assert tested.returncode == 1
    assert "FAIL unique(customer_id) on entity.entity_customers: 1 failing; sample keys: 7" in tested.stdout
    assert "FAIL unique(customer_id, snapshot_date) on entity.entity_customers_daily" in tested.stdout
    with running_server(env) as url, httpx.Client(base_url=url, timeout=60) as client:
        status = client.get("/status").json()
        assert status["status"] == "error"
        failed = {(t["table"], t["test"]) for t in status["failed_tests"]}
        assert ("entity.entity_customers", "unique(customer_id)") in failed
        answer = client.get("/metrics/mrr", params={"grain": "month", "start": "2026-01-01"}).json()
        data_status = answer["meta"]["data_status"]
        assert data_status["status"] == "error"
        assert (
            "1 failing test(s)" in " ".join(data_status["tables"]["entity.entity_customers_daily"]["notes"])
            or data_status["tables"]["entity.entity_customers_daily"]["status"] == "error"
        )
        assert any("failing test" in w for w in answer["meta"]["warnings"])
        entity = client.get("/entities/customers").json()
        current = next(t for t in entity["tables"] if t["key"] == "current")
        assert current["build"]["failed_tests"][0]["test"] == "unique(customer_id)"
        assert current["build"]["kind"] == "sql"


@pytest.mark.parametrize("body", [{"tables": ["entity.nope"]}, {"tables": ["x; drop table y"]}, {"start": "soon"}])
def test_a_bad_build_request_is_a_clear_problem_and_starts_nothing(demo_db: Path, tmp_path: Path, body) -> None:
    copy = tmp_path / "tapflow.duckdb"
    shutil.copy(demo_db, copy)
    with running_server(env_for(copy)) as url, httpx.Client(base_url=url, timeout=60) as client:
        r = client.post("/admin/builds", json=body)
        assert r.status_code in (400, 404, 422) and r.headers["content-type"] == "application/problem+json"
        assert client.get("/status").json()["tables"]  # still serving


def test_a_refresh_schedule_builds_the_table_in_the_service(tmp_path: Path) -> None:
    from tests.builds.project import write_project

    project = write_project(tmp_path / "project")
    yml = project / "entities" / "users.yml"
    yml.write_text(
        yml.read_text().replace(
            "        tests: [{unique: user_id}, {not_null: [user_id, name]}]",
            "        tests: [{unique: user_id}, {not_null: [user_id, name]}]\n        refresh: {every: 1}",
        )
    )
    env = env_for(tmp_path / "w.duckdb", project, now="2026-11-26T12:00:00")
    assert tapflow("build", env=env, timeout=300).returncode == 0
    with running_server(env) as url, httpx.Client(base_url=url, timeout=60) as client:
        deadline = time.monotonic() + 60
        scheduled: list[dict] = []
        while not scheduled and time.monotonic() < deadline:
            scheduled = [b for b in client.get("/admin/builds").json()["builds"] if b["origin"] == "schedule"]
            time.sleep(0.2)
        assert scheduled, "no scheduled build within 60 s"
        run = wait_for(client, scheduled[0]["run_id"])
        assert run["status"] == "success" and [t["table"] for t in run["tables"]] == ["entity.users"]


def test_a_cancelled_build_stops_rolls_back_its_batch_and_resumes(demo_db: Path, tmp_path: Path) -> None:
    copy = tmp_path / "tapflow.duckdb"
    shutil.copy(demo_db, copy)
    with running_server(env_for(copy)) as url, httpx.Client(base_url=url, timeout=60) as client:
        body = {"full_refresh": True}
        started = client.post("/admin/builds", json=body).json()
        assert client.post("/admin/builds", json=body).status_code == 409  # one build at a time
        cancelled = client.delete(f"/admin/builds/{started['run_id']}")
        assert cancelled.status_code == 202
        job = wait_for(client, started["run_id"])
        assert job["status"] == "interrupted", (job["error"], job)
        again = client.post("/admin/builds", json=body).json()
        assert again["run_id"] == started["run_id"] and again["resumed"]
        finished = wait_for(client, again["run_id"])
        assert finished["status"] == "success", finished
        listed = client.get("/admin/builds").json()
        assert listed["builds"][0]["run_id"] == started["run_id"] and listed["running"] is None
        assert client.delete("/admin/builds/nope").status_code == 404
