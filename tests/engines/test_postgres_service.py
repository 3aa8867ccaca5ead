"""The service and the CLI on a PostgreSQL warehouse (TAPFLOW_WAREHOUSE): real servers, real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import httpx
import psycopg
import pytest

from app.engine.postgres import PostgresWarehouse
from app.errors import DatabaseError, InvalidQuery, QueryTimeout
from tests.conftest import TEST_SCALE
from tests.helpers import env_for, running_server, tapflow
from tests.postgres_server import new_database

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


def test_seed_validate_and_serve_on_postgres(pg_server: str, demo_db: Path, tmp_path: Path) -> None:
    """The README's path: migrate, seed, validate, serve; the board's answers equal DuckDB's on its own demo."""
    url = new_database(pg_server, "seeded")
    env = env_for(tmp_path / "state.duckdb", TAPFLOW_WAREHOUSE=url)
    outputs = []
    for command in (["migrate"], ["seed", "--scale", str(TEST_SCALE)], ["validate"]):
        done = tapflow(*command, env=env, timeout=600)
        assert done.returncode == 0, done.stdout + done.stderr
        outputs.append(done.stdout)
    assert "tables, " in outputs[1] and f"rows into {url}" in outputs[1]
    again = tapflow("seed", "--if-empty", env=env)
    assert again.returncode == 0 and "demo data present" in again.stdout
    refused = tapflow("build", env=env)
    assert refused.returncode == 1 and "runs on the DuckDB file" in refused.stderr + refused.stdout
    with running_server(env) as on_pg, running_server(env_for(demo_db)) as on_duckdb:
        health = httpx.get(on_pg + "/health").json()
        assert health["warehouse"] == url and health["seeded"] is True
        for path in BOARD:
            assert _answer(on_pg, path) == _answer(on_duckdb, path), path
    cli = tapflow("query", "mrr", "--grain", "month", "--start", "2026-01-01", env=env)
    duck = tapflow("query", "mrr", "--grain", "month", "--start", "2026-01-01", env=env_for(demo_db))
    assert cli.returncode == 0 and cli.stdout == duck.stdout and cli.stdout.count("\n") == 11


def test_errors_on_postgres_are_problems_and_change_nothing(pg_demo: str, tmp_path: Path) -> None:
    env = env_for(tmp_path / "state.duckdb", TAPFLOW_WAREHOUSE=pg_demo)
    with running_server(env) as base:
        bad_value = httpx.get(base + "/metrics/mrr", params={"grain": "month", "where": "signup_cohort = 'soon'"})
        assert bad_value.status_code == 400
        assert bad_value.headers["content-type"].startswith("application/problem+json")
        assert "soon" not in bad_value.json()["detail"]  # a value is never echoed: it may be data
        hostile = httpx.get(base + "/metrics/mrr", params={"where": "customer_tier = 'x'; DROP TABLE entity.x"})
        assert hostile.status_code == 400
        answer = httpx.get(base + "/metrics/mrr", params={"grain": "month"}).json()
        assert (
            answer["meta"].get("data_status") is None and not answer["meta"]["warnings"]
        )  # the file's check: not this
        for method, path in (("GET", "/status"), ("POST", "/admin/builds"), ("POST", "/admin/tests")):
            refused = httpx.request(method, base + path, json={})
            assert refused.status_code == 501, (path, refused.text)
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert "runs on the DuckDB file" in refused.json()["detail"]
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


def test_catalog_names_types_as_duckdb_does(pg_server: str) -> None:
    url = new_database(pg_server, "types")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA shop")
        conn.execute(
            "CREATE TABLE shop.orders (id bigint, amount numeric(12,2), ratio double precision, note text, "
            "at timestamp, at_tz timestamptz, day date, paid boolean, n integer, big numeric)"
        )
        conn.execute("CREATE VIEW shop.paid AS SELECT id, amount FROM shop.orders WHERE paid")
        conn.execute(
            "CREATE MATERIALIZED VIEW shop.daily AS SELECT day, sum(amount) AS amount FROM shop.orders GROUP BY day"
        )
        conn.execute("ALTER DATABASE types SET timezone = 'America/New_York'")  # a server's zone: not ours
        conn.execute("INSERT INTO shop.orders (at_tz) VALUES ('2026-10-25 01:30:00+00')")
    warehouse = PostgresWarehouse(url)
    try:
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
    finally:
        warehouse.close()
