"""Builds in another warehouse: what engineers write for DuckDB, run on PostgreSQL with DuckDB's results; one
process at a time builds a table; Spark's lake is refused, its data tests run. (The whole demo built in
PostgreSQL and compared with DuckDB's tables: test_postgres_service.py.)"""

from __future__ import annotations

import random
import threading
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlglot

from app.compiler.dialects import render
from app.definitions.loader import load_project
from app.engine.building import checks
from app.engine.building import statements as st
from app.engine.building.plan import TablePlan
from app.engine.building.runner import _prepare_elsewhere
from app.engine.database import read_catalog
from app.engine.migrations import apply_migrations
from app.engine.postgres import PostgresWarehouse
from app.engine.spark import SparkWarehouse
from app.engine.warehouse import buildable
from app.errors import BuildConflict, BuildError, QueryTimeout, Unsupported
from tests.conftest import ROOT
from tests.helpers import env_for, tapflow
from tests.postgres_server import new_database, warehouse_on


def _values() -> list[float]:
    """Doubles around every kind of tie: random ones, k + 0.5 tenths/hundredths/thousandths (most of them a
    hair below or above the tie in binary), exact binary ties (0.125, 2.5), and zero."""
    rng = random.Random(7)
    values = [rng.uniform(-1000, 1000) for _ in range(400)]
    values += [(k + 0.5) / 10**n for k in range(-60, 60) for n in (0, 1, 2, 3)]
    return values + [24.45, 2.675, 0.285, 1.005, 0.125, -0.125, 2.5, -2.5, 0.0]


ROUNDING = (
    "SELECT i, round(x, 0), round(x, 1), round(x, 2), round(x, 3), round(d, 1), round(d, 2), round(x), round(d), "
    "round(100 * (0.4 * x + 0.3 * x), 1), round(i, 1), round(i / 7, 2), "
    "round(CASE WHEN 'a\\b' LIKE 'a\\b' THEN x END, 2) FROM ({rows}) AS t(i, x, d) ORDER BY i"
)
SHARES = (  # a window over aggregates inside ROUND, a ROUND inside another
    "SELECT i % 3 AS g, round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS share, "
    "round(round(avg(x), 1) * 1.0, 1) AS mean, round(sum(d), 2) AS total FROM ({rows}) AS t(i, x, d) "
    "GROUP BY ALL ORDER BY 1"
)
GROUPED = (
    "WITH copied AS (SELECT i, x, cast(unnest(generate_series(1, 2)) AS int) AS copy FROM ({rows}) AS t(i, x, d)) "
    "SELECT i % 7 AS bucket, copy, count(*) FILTER (WHERE x > 0) AS positive, sum(x) AS total FROM copied "
    "GROUP BY ALL ORDER BY 1, 2"
)


def _as_floats(rows: list[tuple[Any, ...]]) -> list[list[float | None]]:
    return [[None if v is None else round(float(v), 9) for v in row] for row in rows]


@pytest.mark.parametrize(
    "sql", [ROUNDING, SHARES, GROUPED], ids=["ROUND of doubles and decimals", "ROUND of windows", "GROUP BY ALL"]
)
def test_duckdb_sql_of_builds_answers_the_same_on_postgres(pg: PostgresWarehouse, sql: str) -> None:
    """ROUND(double, n) has no PostgreSQL form and casting to NUMERIC rounds 24.45 (24.4499999... in binary) up
    where DuckDB rounds it down; GROUP BY ALL and a list's unnest are DuckDB's own. Each, rewritten, equals
    DuckDB on ties of every kind."""
    rows = " UNION ALL ".join(
        f"SELECT {i}, CAST({v!r} AS DOUBLE), CAST({round(v, 4)!r} AS DECIMAL(12, 4))" for i, v in enumerate(_values())
    )
    text = sql.format(rows=rows)
    want = duckdb.sql(text).fetchall()
    got = pg.select(render(sqlglot.parse_one(text, dialect="duckdb"), "postgres"), timeout_s=60, params={}).rows
    assert len(want) >= 3 and _as_floats(got) == _as_floats(want)


def test_group_by_all_without_keys_or_over_a_star(pg: PostgresWarehouse) -> None:
    one_row = "SELECT count(*) AS n, sum(x) AS total FROM (SELECT 1 AS x UNION ALL SELECT 2) AS t GROUP BY ALL"
    assert pg.select(
        render(sqlglot.parse_one(one_row, dialect="duckdb"), "postgres"), timeout_s=10, params={}
    ).rows == [(2, 3)]
    with pytest.raises(Unsupported, match="name the selected columns"):
        render(sqlglot.parse_one("SELECT *, count(*) FROM t GROUP BY ALL", dialect="duckdb"), "postgres")


def test_a_batch_is_bounded_in_all_and_cancelled_when_asked(pg_server: str) -> None:
    """The batch's limit is shared by its statements (three of 0.7 s do not fit in 1 s), and a cancelled build
    stops the statement running in PostgreSQL (its writes rolled back)."""
    with warehouse_on(new_database(pg_server, "batches")) as warehouse:
        with warehouse.writer("public.t") as writer:
            writer.run([("CREATE TABLE public.t (a int)", {})], timeout_s=None)
            sleeps = [("INSERT INTO public.t SELECT 1 FROM pg_sleep(0.7)", {})] * 3
            with pytest.raises(QueryTimeout):
                writer.run(sleeps, timeout_s=1.0)
            stop = threading.Event()
            threading.Timer(0.5, stop.set).start()
            with pytest.raises(QueryTimeout):  # stopped at the cancel, long before the sleep would end
                writer.run(
                    [("INSERT INTO public.t VALUES (2)", {}), ("SELECT pg_sleep(600)", {})], timeout_s=None, stop=stop
                )
            assert writer.run([("SELECT * FROM public.t", {})], timeout_s=10) == [0]  # nothing of either batch


def test_rows_are_inserted_by_name_as_duckdb_does(pg_server: str) -> None:
    """DuckDB's INSERT BY NAME: a column the rows lack is NULL; a column the table lacks is an error naming it."""
    url = new_database(pg_server, "by_name")
    with warehouse_on(url, "CREATE SCHEMA entity", "CREATE TABLE entity.t (a int, b int, c text)") as warehouse:
        fits = sqlglot.parse_one("SELECT 2 AS b, 1 AS a", dialect="duckdb")
        table = TablePlan(
            "entity.t", "e", "t", "sql", None, [], [st.delete("entity.t", None), st.insert("entity.t", fits)], None
        )
        with warehouse.writer("entity.t") as writer:
            _prepare_elsewhere(writer, warehouse, table)
            assert writer.run([(sql, {}) for sql, _ in table.sql], timeout_s=10) == [0, 1]
            assert writer.run([("SELECT * FROM entity.t WHERE a = 1 AND b = 2 AND c IS NULL", {})], timeout_s=10) == [1]
            extra = sqlglot.parse_one("SELECT 1 AS a, 'x' AS d", dialect="duckdb")
            table.statements = [st.insert("entity.t", extra)]
            with pytest.raises(BuildError, match="have the column\\(s\\) d, which the table"):
                _prepare_elsewhere(writer, warehouse, table)


def test_one_process_builds_a_table_at_a_time(pg: PostgresWarehouse, pg_demo: str, tmp_path: Path) -> None:
    """The advisory lock of a table's build: held by one connection (another process, a replica), refused to
    every other one with a 409 problem's message, for that table only; free again when the holder is done."""
    other = PostgresWarehouse(pg_demo)
    try:
        with pg.writer("entity.entity_users"):
            with (
                pytest.raises(BuildConflict, match="being built by another process"),
                other.writer("entity.entity_users"),
            ):
                pass
            with other.writer("entity.entity_teams"):  # another table: not held
                pass
            env = env_for(tmp_path / "replica.duckdb", TAPFLOW_WAREHOUSE=pg_demo)
            refused = tapflow("build", "entity.entity_users", env=env, timeout=300)
            assert refused.returncode == 1 and "is being built by another process" in refused.stdout + refused.stderr
        with other.writer("entity.entity_users") as writer:  # released: the next build gets it
            assert writer.run([("SELECT count(*) FROM entity.entity_users", {})], timeout_s=10) == [1]
    finally:
        other.close()


def test_spark_refuses_builds_and_runs_data_tests(spark_lake: SparkWarehouse, demo_db: Path, tmp_path: Path) -> None:
    """A lake of Parquet folders takes no DELETE: a build is refused, saying what to do; the data tests are
    SELECTs, and give DuckDB's results there."""
    with pytest.raises(Unsupported, match="Parquet folders take no DELETE"):
        buildable(spark_lake, "`tapflow build`")
    tables = ["entity.entity_devices_hourly"]
    with duckdb.connect(str(tmp_path / "records.duckdb")) as records:
        apply_migrations(records, None)
        on_spark = checks.test_tables(
            records, load_project(ROOT, spark_lake.catalog()), tables, 300, warehouse=spark_lake
        )
    with duckdb.connect(str(demo_db), read_only=True) as con:
        project = load_project(ROOT, read_catalog(con))
        on_duckdb = [r for t in tables for r in checks.run_tests(con, project, t, "compare", record=False)]
    assert len(on_spark) >= 2 and all(r.status == "pass" for r in on_spark), [r.as_dict() for r in on_spark]
    assert [(r.table, r.test, r.failing) for r in on_spark] == [(r.table, r.test, r.failing) for r in on_duckdb]
