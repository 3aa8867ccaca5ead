"""The service and the CLI on a PostgreSQL warehouse (TAPFLOW_WAREHOUSE): real servers, real PostgreSQL."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import httpx
import psycopg
import pytest

from app.definitions.loader import load_project
from app.demo.clock import build_until
from app.engine.building.status import morning_check
from app.engine.database import read_catalog
from app.engine.postgres import PostgresWarehouse
from app.errors import DatabaseError, InvalidQuery, QueryTimeout
from tests.conftest import ROOT, TEST_SCALE
from tests.helpers import PINNED_NOW, env_for, running_server, tapflow
from tests.postgres_server import new_database, warehouse_on

BOARD = [
    "/metrics/mrr?grain=month",
    "/metrics/mrr?grain=quarter&dimensions=customer_tier&compare=prior_year",
    "/metrics/arpa,active_customers?grain=month&start=2025-01-01&format=csv",
    "/metrics/device_events?grain=day&dimensions=device_type&tz=Europe/Berlin&start=2026-10-20&format=csv",
    "/metrics/team_size?grain=week&fill=zero&start=2026-09-01",
    "/cohorts/mrr?cohort=signup_cohort&start=2024-11-01&format=csv",
]


def _answer(base: str, path: str) -> object:
    response = httpx.get(base + path + ("&" if "?" in path else "?") + "pre_aggregations=off", timeout=60)
    assert response.status_code == 200, response.text
    return response.text if "format=csv" in path else response.json()["rows"]


DAY = {"grain": "day", "start": "2026-10-30", "end": "2026-10-31", "pre_aggregations": "off"}
QUIET_USER = """
SELECT u.user_id FROM entity.entity_users u
WHERE u.team_id IN (SELECT team_id FROM entity.entity_teams_daily WHERE snapshot_date = DATE '2026-10-30')
  AND u.user_id NOT IN (SELECT user_id FROM staging.stg_app__user_activities
                        WHERE activity_timestamp >= '2026-10-30' AND activity_timestamp < '2026-10-31')
ORDER BY u.user_id LIMIT 1
"""


def _stop_the_seed_at_its_last_table(records: Path, url: str) -> None:
    """The seed's run marked interrupted before the batches of its last table, whose rows are gone."""
    with duckdb.connect(str(records)) as con:
        run_id, last = con.execute(
            "SELECT run_id, max_by(table_name, seq) FROM meta.build_runs WHERE run_id = "
            "(SELECT run_id FROM meta.builds WHERE origin = 'seed') GROUP BY run_id"
        ).fetchone()
        con.execute("UPDATE meta.builds SET status = 'interrupted' WHERE run_id = ?", [run_id])
        con.execute("UPDATE meta.build_runs SET status = 'pending' WHERE run_id = ? AND table_name = ?", [run_id, last])
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {last}")  # a name from the records of this test's own build


def _fingerprint(cursor: Any, table: str, types: dict[str, str]) -> list[object]:
    """Rows of ``table``, the sum of each numeric column (to 6 places) and distinct values of each other one."""
    parts = ["count(*)"]
    for column, kind in types.items():
        numeric = kind.startswith(("DECIMAL", "DOUBLE", "FLOAT", "BIGINT", "INTEGER", "HUGEINT", "SMALLINT"))
        parts.append(f'CAST(sum("{column}") AS DOUBLE PRECISION)' if numeric else f'count(DISTINCT "{column}")')
    row = cursor.execute(f"SELECT {', '.join(parts)} FROM {table}").fetchone()  # names from DuckDB's catalog
    return [round(v, 6) if isinstance(v, float) else v for v in row]


def test_seed_validate_and_serve_on_postgres(pg_server: str, demo_copy: Path, tmp_path: Path) -> None:
    """The README's path: migrate, seed (the inputs loaded, the entity tables built in PostgreSQL), build, test,
    serve; every entity table and the board's answers equal DuckDB's on its own demo; the service builds there."""
    url = new_database(pg_server, "seeded")
    env = env_for(tmp_path / "state.duckdb", TAPFLOW_WAREHOUSE=url)
    outputs = []
    for command in (["migrate"], ["seed", "--scale", str(TEST_SCALE)], ["validate"]):
        done = tapflow(*command, env=env, timeout=600)
        assert done.returncode == 0, done.stdout + done.stderr
        outputs.append(done.stdout)
    assert "tables, " in outputs[1] and f"rows into {url}" in outputs[1]
    again = tapflow("seed", "--if-empty", env=env)
    assert again.returncode == 0 and "demo data present" in again.stdout and "finished" not in again.stdout
    _stop_the_seed_at_its_last_table(tmp_path / "state.duckdb", url)  # as a killed `make run` leaves it
    again = tapflow("seed", "--if-empty", env=env, timeout=600)
    assert again.returncode == 0 and "finished the demo's build that a stopped seed left unfinished" in again.stdout
    rebuilt = tapflow("build", env=env, timeout=600)  # incremental: the last batches again, from the records
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    tested = tapflow("test", env=env, timeout=600)
    assert tested.returncode == 0 and "0 failed" in tested.stdout, tested.stdout + tested.stderr
    with duckdb.connect(str(demo_copy), read_only=True) as duck_con, psycopg.connect(url) as pg_con:
        built = {t: c for t, c in read_catalog(duck_con).items() if t.startswith("entity.")}
        assert len(built) == 14
        for table, types in built.items():
            assert _fingerprint(pg_con, table, types) == _fingerprint(duck_con, table, types), table
        pg_con.execute("DROP TABLE entity.entity_teams_daily")  # the records say built: the warehouse does not
        pg_con.commit()
        again = tapflow("build", "entity.entity_teams_daily", env=env, timeout=600)
        assert again.returncode == 0, again.stdout + again.stderr
        daily = built["entity.entity_teams_daily"]
        assert _fingerprint(pg_con, "entity.entity_teams_daily", daily) == _fingerprint(
            duck_con, "entity.entity_teams_daily", daily
        )
    cli = tapflow("query", "mrr", "--grain", "month", "--start", "2026-01-01", env=env)
    duck = tapflow("query", "mrr", "--grain", "month", "--start", "2026-01-01", env=env_for(demo_copy))
    assert cli.returncode == 0 and cli.stdout == duck.stdout and cli.stdout.count("\n") == 11
    with running_server(env) as on_pg:
        with running_server(env_for(demo_copy)) as on_duckdb:
            health = httpx.get(on_pg + "/health").json()
            assert health["warehouse"] == url and health["seeded"] is True
            for path in BOARD:
                assert _answer(on_pg, path) == _answer(on_duckdb, path), path
        # the service builds there too: a user active on a day they were not, then that day rebuilt
        before = httpx.get(on_pg + "/metrics/team_active_user_days", params=DAY).json()["rows"][0]
        with psycopg.connect(url, autocommit=True) as conn:
            user = conn.execute(QUIET_USER).fetchone()[0]
            conn.execute(
                "INSERT INTO staging.stg_app__user_activities (user_id, session_id, activity_timestamp, feature, "
                "actions_taken, loaded_at) VALUES (%s, 999999999, '2026-10-30 12:00', 'dashboards', 3, "
                "'2026-10-30 13:00')",
                [user],
            )
        started = httpx.post(
            on_pg + "/admin/builds",
            json={"tables": ["entity.entity_teams_daily"], "start": "2026-10-30", "end": "2026-10-31"},
        )
        assert started.status_code == 202, started.text
        job = _finished(on_pg, started.json()["run_id"])
        assert job["status"] == "success" and job["tables"][0]["batches"] == 1, job
        after = httpx.get(on_pg + "/metrics/team_active_user_days", params=DAY).json()["rows"][0]
        assert after["team_active_user_days"] == before["team_active_user_days"] + 1
        checked = httpx.post(on_pg + "/admin/tests", json={"tables": ["entity.entity_teams_daily"]}).json()
        assert checked["failed"] == 0 and len(checked["results"]) >= 3, checked


def _finished(base: str, run_id: str, limit_s: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        job = httpx.get(f"{base}/admin/builds/{run_id}").json()
        if job["status"] != "running":
            return dict(job)
        time.sleep(0.2)
    raise AssertionError(f"build {run_id} still running after {limit_s} s")


def _seen(check: dict[str, Any]) -> dict[str, Any]:
    """What the morning check saw in each table's rows (not the records of builds, which differ by file)."""
    return {
        t["table"]: (t["freshness"], t["coverage"] and t["coverage"] | {"missing_sample": []}) for t in check["tables"]
    }


def test_the_morning_check_reads_the_warehouse(pg_demo: str, demo_db: Path, tmp_path: Path) -> None:
    """Freshness and grain coverage of every table, read in PostgreSQL, equal the DuckDB file's."""
    env = env_for(tmp_path / "state.duckdb", TAPFLOW_WAREHOUSE=pg_demo)
    done = tapflow("status", "--format", "json", env=env, timeout=300)
    assert done.returncode in (0, 1), done.stderr  # 1: a table is stale or was never built here, which it says
    on_pg = json.loads(done.stdout)
    with duckdb.connect(str(demo_db), read_only=True) as con:
        project = load_project(ROOT, read_catalog(con))
        on_duckdb = morning_check(con, project, build_until(con, datetime.fromisoformat(PINNED_NOW)))
    assert len(on_pg["tables"]) >= 10 and _seen(on_pg) == _seen(on_duckdb)
    hourly = next(t for t in on_pg["tables"] if t["table"] == "entity.entity_devices_hourly")
    assert hourly["coverage"]["first"] == "2026-10-18 00:00:00" and hourly["coverage"]["grain"] == "hour"


def test_errors_on_postgres_are_problems_and_change_nothing(pg_demo: str, tmp_path: Path) -> None:
    env = env_for(tmp_path / "state.duckdb", TAPFLOW_WAREHOUSE=pg_demo)
    with running_server(env) as base:
        bad_value = httpx.get(base + "/metrics/mrr", params={"grain": "month", "where": "signup_cohort = 'soon'"})
        assert bad_value.status_code == 400
        assert bad_value.headers["content-type"].startswith("application/problem+json")
        assert "soon" not in bad_value.json()["detail"]  # a value is never echoed: it may be data
        hostile = httpx.get(base + "/metrics/mrr", params={"where": "customer_tier = 'x'; DROP TABLE entity.x"})
        assert hostile.status_code == 400
        status = httpx.get(base + "/status")
        assert status.status_code == 200 and status.json()["tables"], status.text
        refused = httpx.post(base + "/admin/seed", json={})
        assert refused.status_code in (403, 501), refused.text  # 403 outside demo mode, 501 in it
        assert refused.headers["content-type"].startswith("application/problem+json")
        coverage = httpx.get(base + "/metrics", params={"coverage": "true"}).json()["metrics"]
        assert next(m for m in coverage if m["name"] == "mrr")["coverage"]["last"].startswith("2026-10-31")
        assert httpx.get(base + "/metrics/mrr", params={"grain": "month"}).json()["rows"]
    with psycopg.connect(pg_demo) as conn:
        assert conn.execute("SELECT count(*) FROM entity.entity_customers_daily").fetchone()[0] > 0


def test_warehouse_is_read_only_and_bounded(pg: PostgresWarehouse) -> None:
    with pytest.raises(QueryTimeout, match="limit"):
        pg.select("SELECT pg_sleep(5)", timeout_s=0.2)  # always past the limit, however busy the machine
    with pytest.raises(DatabaseError, match="read-only"):
        pg.select("CREATE TABLE staging.intruder (a int)", timeout_s=10)
    with pytest.raises(InvalidQuery) as bad:
        pg.select("SELECT 'secret-value'::date", timeout_s=10)
    assert "secret-value" not in bad.value.detail
    assert pg.select("SELECT %(a)s || '%%'", timeout_s=10, params={"a": "100"}).rows == [("100%",)]


def test_unreachable_or_unknown_warehouse_is_said_at_start(pg_server: str, tmp_path: Path) -> None:
    wrong = pg_server.replace("tapflow@", "tapflow:hunter2@").rsplit(":", 1)[0] + ":1/postgres"
    done = tapflow("validate", env=env_for(tmp_path / "s.duckdb", TAPFLOW_WAREHOUSE=wrong))
    assert done.returncode == 1 and "Cannot reach the PostgreSQL warehouse" in done.stderr
    assert "hunter2" not in done.stderr + done.stdout and "tapflow:***@" in done.stderr
    unknown = tapflow("validate", env=env_for(tmp_path / "s.duckdb", TAPFLOW_WAREHOUSE="mysql://x/y"))
    assert unknown.returncode == 1 and "postgresql://user@host:port/db" in unknown.stderr
    lake = tmp_path / "no" / "lake"
    missing = tapflow("validate", env=env_for(tmp_path / "s.duckdb", TAPFLOW_WAREHOUSE=f"spark://{lake}"))
    assert missing.returncode == 1 and "is not a folder" in missing.stderr and not lake.exists()


def test_a_sql_ascii_database_is_read_as_text(pg_server: str) -> None:
    """A database created without an encoding (SQL_ASCII) hands back bytes unless the session asks for UTF8."""
    ascii_only = "ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"
    with warehouse_on(
        new_database(pg_server, "ascii", ascii_only),
        "CREATE TABLE public.t (name text, amount numeric(12,2))",
        "INSERT INTO public.t VALUES ('Zürich', 1.5)",
    ) as warehouse:
        assert warehouse.catalog()["public.t"] == {"name": "VARCHAR", "amount": "DECIMAL(12,2)"}
        assert warehouse.select("SELECT name FROM public.t", timeout_s=10).rows == [("Zürich",)]


def test_catalog_names_types_as_duckdb_does(pg_server: str) -> None:
    with warehouse_on(
        new_database(pg_server, "types"),
        "CREATE SCHEMA shop",
        "CREATE TABLE shop.orders (id bigint, amount numeric(12,2), ratio double precision, note text, "
        "at timestamp, at_tz timestamptz, day date, paid boolean, n integer, big numeric)",
        "CREATE VIEW shop.paid AS SELECT id, amount FROM shop.orders WHERE paid",
        "CREATE MATERIALIZED VIEW shop.daily AS SELECT day, sum(amount) AS amount FROM shop.orders GROUP BY day",
        "ALTER DATABASE types SET timezone = 'America/New_York'",  # a server's zone: not ours
        "INSERT INTO shop.orders (at_tz) VALUES ('2026-10-25 01:30:00+00')",
    ) as warehouse:
        assert warehouse.select("SHOW TimeZone", timeout_s=10).rows == [("UTC",)]
        stored = warehouse.select("SELECT date_trunc('day', at_tz) FROM shop.orders", timeout_s=10).rows[0][0]
        assert stored.isoformat() == "2026-10-25T00:00:00+00:00"  # the UTC day, not New York's 24 October
        assert warehouse.catalog()["shop.orders"] == {
            "id": "BIGINT",
            "amount": "DECIMAL(12,2)",
            "ratio": "DOUBLE",
            "note": "VARCHAR",
            "at": "TIMESTAMP",
            "at_tz": "TIMESTAMP WITH TIME ZONE",
            "day": "DATE",
            "paid": "BOOLEAN",
            "n": "INTEGER",
            "big": "DOUBLE",
        }
        catalog = warehouse.catalog()  # views and materialized views are tables to describe too
        assert catalog["shop.paid"] == {"id": "BIGINT", "amount": "DECIMAL(12,2)"}
        assert catalog["shop.daily"] == {"day": "DATE", "amount": "DOUBLE"}  # a numeric sum: no precision
