"""The service on PostgreSQL and on Spark: the base dashboard queries (run.py's E2E_QUERIES, pre_aggregations=off,
result cache off) served over HTTP with TAPFLOW_WAREHOUSE set, against the same SQL run directly on that engine,
interleaved in one run. Writes bench/results/engines.json; `make bench` runs it after run.py.

PostgreSQL is a throwaway local cluster (tests/postgres_server.py); Spark a local session over a Parquet lake.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import httpx
from run import E2E_QUERIES, RESULTS, build_db, httpx_get, log, query_of, side_by_side
from server import ROOT

from app.compiler.sql import compile_query
from app.definitions.loader import load_project
from app.definitions.rollups import SCHEMA as ROLLUP_SCHEMA
from app.engine.database import read_catalog
from app.engine.postgres import PostgresWarehouse
from app.engine.spark import SparkWarehouse
from app.engine.warehouse import Loadable
from tests.helpers import Server, env_for
from tests.postgres_server import new_database, postgres_server


class SparkRaw:
    """``execute(sql, params).fetchall()`` on a Spark session, as side_by_side runs the raw side."""

    def __init__(self, warehouse: SparkWarehouse) -> None:
        self.spark = warehouse.spark

    def execute(self, sql: str, params: dict[str, Any]) -> SparkRaw:
        self._rows = self.spark.sql(sql, args=params or None).collect()
        return self

    def fetchall(self) -> list[Any]:
        return self._rows


def load(warehouse: Loadable, db: Path) -> float:
    """Seconds to load the demo's input and entity tables from ``db`` into ``warehouse``."""
    started = time.perf_counter()
    with duckdb.connect(str(db), read_only=True) as con:
        warehouse.load(con, [t for t in read_catalog(con) if not t.startswith(f"{ROLLUP_SCHEMA}.")])
    return time.perf_counter() - started


def served_vs_raw(warehouse: Any, raw: Any, url: str, state: Path, rounds: int) -> dict[str, Any]:
    project = load_project(ROOT, warehouse.catalog())
    env = env_for(
        state,
        now=None,
        TAPFLOW_WAREHOUSE=url,
        TAPFLOW_CACHE_TTL_S="0",
        TAPFLOW_USAGE_TRACKING="false",
        TAPFLOW_LOG_LEVEL="warning",
        TAPFLOW_QUERY_TIMEOUT_S="300",
    )
    per_query = []
    with Server(env, quiet=True, wait_s=600, stop_s=60) as server, httpx.Client(timeout=300) as client:
        for path, base_params in E2E_QUERIES:
            params = base_params | {"pre_aggregations": "off"}
            compiled = compile_query(project, query_of(path, params), {})
            sql, bound = compiled.bound_sql(warehouse.dialect), compiled.params
            for _ in range(2):  # warm both sides
                client.get(server.base + path, params=params).raise_for_status()
                raw.execute(sql, bound).fetchall()
            clients = {"httpx": httpx_get(client)}
            both, direct = side_by_side(clients, server.base + path, params, raw, sql, bound, rounds)
            served = both["httpx"]  # seconds a query on these engines: a client's millisecond is lost in them
            per_query.append(
                {
                    "query": f"{path}?{'&'.join(f'{k}={v}' for k, v in params.items())}",
                    "served_p50_ms": round(statistics.median(served), 2),
                    "raw_p50_ms": round(statistics.median(direct), 2),
                    "ratio": round(statistics.median(served) / statistics.median(direct), 3),
                }
            )
    return {"ratio": round(statistics.median(q["ratio"] for q in per_query), 3), "queries": per_query}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=15, help="requests per query on PostgreSQL")
    parser.add_argument("--spark-rounds", type=int, default=5, help="requests per query on Spark (seconds each)")
    args = parser.parse_args()
    started = time.time()
    db = build_db(args.scale)
    results: dict[str, Any] = {"scale": args.scale}
    with tempfile.TemporaryDirectory(prefix="tapflow-bench-engines-") as folder:
        log("PostgreSQL: load, then served against raw")
        with postgres_server() as server_url:
            url = new_database(server_url, "bench")
            pg = PostgresWarehouse(url)
            try:
                results["postgres_load_s"] = round(load(pg, db), 1)
                with pg.pool.connection() as raw:
                    postgres = served_vs_raw(pg, raw, url, Path(folder) / "pg_state.duckdb", args.rounds)
            finally:
                pg.close()
        results["postgres_served_over_raw_ratio"] = postgres["ratio"]
        results["postgres_queries"] = postgres["queries"]
        log("Spark: load, then served against raw")
        lake = Path(folder) / "lake"
        spark = SparkWarehouse(f"spark://{lake}", create=True)
        try:
            results["spark_load_s"] = round(load(spark, db), 1)
            outcome = served_vs_raw(
                spark, SparkRaw(spark), f"spark://{lake}", Path(folder) / "sp_state.duckdb", args.spark_rounds
            )
        finally:
            spark.close()
        results["spark_served_over_raw_ratio"] = outcome["ratio"]
        results["spark_queries"] = outcome["queries"]
    results["elapsed_s"] = round(time.time() - started, 1)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "engines.json").write_text(json.dumps(results, indent=2) + "\n")
    for engine in ("postgres", "spark"):
        print(f"{engine}: served over raw {results[f'{engine}_served_over_raw_ratio']} (target <= 1.10)")
        for q in results[f"{engine}_queries"]:
            print(f"  {q['query']}: served {q['served_p50_ms']} ms, raw {q['raw_p50_ms']} ms, ratio {q['ratio']}")
    print(f"\nwritten to bench/results/engines.json in {results['elapsed_s']} s")


if __name__ == "__main__":
    main()
