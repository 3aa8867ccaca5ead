"""Real engines for the session, each holding the demo's rows (the same as ``demo_db``): a PostgreSQL server and
a local Spark session over a Parquet lake."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from app.definitions.loader import load_project
from app.definitions.rollups import SCHEMA as ROLLUP_SCHEMA
from app.engine.database import read_catalog
from app.engine.postgres import PostgresWarehouse
from app.engine.spark import SparkWarehouse
from tests.conftest import ROOT
from tests.postgres_server import new_database, postgres_server


def demo_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every input and entity table of the demo (not its rollups, which DuckDB serves)."""
    return [t for t in read_catalog(con) if not t.startswith(f"{ROLLUP_SCHEMA}.")]


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def pg_demo(pg_server: str, demo_db: Path) -> str:
    """URL of a database holding every input and entity table of the DuckDB demo, loaded by COPY."""
    url = new_database(pg_server, "demo")
    warehouse = PostgresWarehouse(url)
    try:
        with duckdb.connect(str(demo_db), read_only=True) as con:
            warehouse.load(con, demo_tables(con))
    finally:
        warehouse.close()
    return url


@pytest.fixture(scope="module")
def pg(pg_demo: str) -> Iterator[PostgresWarehouse]:
    warehouse = PostgresWarehouse(pg_demo)
    yield warehouse
    warehouse.close()


@pytest.fixture(scope="module")
def duck(demo_db: Path) -> Iterator[tuple[duckdb.DuckDBPyConnection, Any]]:
    """The demo on DuckDB, and the project checked against its catalog."""
    con = duckdb.connect(str(demo_db), read_only=True)
    yield con, load_project(ROOT, read_catalog(con))
    con.close()


@pytest.fixture(scope="session")
def spark_lake(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkWarehouse]:
    """A local Spark session (one JVM for the whole run) over a lake of the demo's tables as Parquet."""
    warehouse = SparkWarehouse(f"spark://{tmp_path_factory.mktemp('lake')}")
    try:
        with duckdb.connect(str(demo_db), read_only=True) as con:
            warehouse.load(con, demo_tables(con))
        yield warehouse
    finally:
        warehouse.close()


@pytest.fixture(scope="module")
def on_pg(pg: PostgresWarehouse) -> Any:
    return pg, load_project(ROOT, pg.catalog())  # what the service does: definitions checked against its tables


@pytest.fixture(scope="module")
def on_spark(spark_lake: SparkWarehouse) -> Any:
    return spark_lake, load_project(ROOT, spark_lake.catalog())
