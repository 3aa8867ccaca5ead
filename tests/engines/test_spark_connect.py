"""Spark Connect (``TAPFLOW_WAREHOUSE=sc://host:15002``): a real Spark Connect server, started from pyspark's own
jars, whose catalog holds the demo's tables; queries answer DuckDB's numbers, bounded by a tag interrupted past
their limit, read only."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyspark
import pytest

from app.engine.spark import SparkWarehouse
from tests.conftest import ROOT
from tests.engines.corpus import CORPUS, assert_same_to_the_cent
from tests.helpers import env_for, free_port, running_server

# a semi-additive quarter by a dimension, Berlin's hours, a prior-year compare (the rest of the corpus
# runs on a local session: the SQL is the same, Connect only carries it)
CONNECT = [1, 38, 21]


def _up(port: int, server: subprocess.Popen[bytes], log: Path, limit_s: float = 300) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the Spark Connect server exited:\n{log.read_text()[-3000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"the Spark Connect server did not listen within {limit_s:g} s:\n{log.read_text()[-3000:]}")


# What a process of its own runs against the server: pyspark allows no Spark Connect session in a process that
# has a local one (the lake's, in this one): "SESSION_ALREADY_EXIST". Tables over the lake's folders first.
CREATE_TABLES = """
import sys
from sqlglot import exp
from app.engine.spark import SparkWarehouse
url, lake, names = sys.argv[1], sys.argv[2], sys.argv[3:]
warehouse = SparkWarehouse(url)
for name in names:
    schema, table = name.split(".")
    warehouse.spark.sql("CREATE DATABASE IF NOT EXISTS " + exp.to_identifier(schema, quoted=True).sql("spark"))
    target = exp.table_(table, db=schema, quoted=True).sql("spark")
    location = exp.Literal.string(f"{lake}/{schema}/{table}").sql("spark")
    warehouse.spark.sql(f"CREATE TABLE {target} USING parquet LOCATION {location}")
print(sorted(warehouse.catalog()))
warehouse.close()
"""
BOUNDED = """
import sys
from app.engine.spark import SparkWarehouse
from app.errors import InvalidQuery, QueryTimeout
warehouse = SparkWarehouse(sys.argv[1])
try:
    warehouse.select("SELECT count(*) FROM range(100000000000)", timeout_s=2)
except QueryTimeout:
    print("timeout")
try:
    warehouse.select("DROP TABLE entity.entity_customers", timeout_s=10)
except Exception as exc:
    print(type(exc).__name__)
print(warehouse.select("SELECT count(*) FROM entity.entity_customers", timeout_s=60).rows[0][0] > 0)
warehouse.close()
"""


def _python(script: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", script, *args], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    return done.stdout


@pytest.fixture(scope="module")
def connect(spark_lake: SparkWarehouse, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Spark Connect server (its own JVM) whose catalog has every table of the lake, as Parquet tables over
    the lake's folders; its URL."""
    home, folder, port = Path(pyspark.__file__).parent, tmp_path_factory.mktemp("connect"), free_port()
    log = folder / "server.log"
    command = [
        str(home / "bin" / "spark-submit"),
        *("--class", "org.apache.spark.sql.connect.service.SparkConnectServer", "--master", "local[2]"),
        *("--conf", f"spark.connect.grpc.binding.port={port}", "--conf", f"spark.sql.warehouse.dir={folder}/wh"),
        *("--conf", "spark.ui.enabled=false", "--conf", "spark.sql.session.timeZone=UTC"),
        *("--driver-java-options", f"-Dderby.system.home={folder}"),
        "spark-internal",
    ]
    with log.open("wb") as out:
        server = subprocess.Popen(command, env=os.environ | {"SPARK_HOME": str(home)}, stdout=out, stderr=out)
    try:
        _up(port, server, log)
        url = f"sc://127.0.0.1:{port}"
        tables = sorted(spark_lake.catalog())
        assert f"{tables}\n" == _python(CREATE_TABLES, url, str(spark_lake.lake), *tables)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            server.kill()


def _answer(base: str, query: dict[str, Any]) -> Any:
    params = {k: v for k, v in query.items() if k != "metrics"} | {"pre_aggregations": "off"}
    response = httpx.get(f"{base}/metrics/{query['metrics']}", params=params, timeout=120)
    assert response.status_code == 200, response.text
    return response.json()["rows"]


def test_spark_connect_serves_duckdbs_numbers(connect: str, demo_copy: Path, tmp_path: Path) -> None:
    """The service on a Spark Connect server, its definitions checked against the server's catalog, answers a
    representative set as the service on DuckDB does, row for row."""
    on_connect = env_for(tmp_path / "state.duckdb", TAPFLOW_WAREHOUSE=connect)
    with running_server(on_connect, wait_s=300) as spark, running_server(env_for(demo_copy)) as duck:
        assert httpx.get(spark + "/health").json()["warehouse"] == connect
        for index in CONNECT:
            query = CORPUS[index]
            got, expected = _answer(spark, query), _answer(duck, query)
            assert expected, query
            assert_same_to_the_cent(got, expected, ordered="order" in query)


def test_spark_connect_queries_are_bounded_and_read_only(connect: str) -> None:
    """A query past its limit is interrupted by its tag; a statement that is not a query is refused."""
    assert _python(BOUNDED, connect).split() == ["timeout", "DatabaseError", "True"]
