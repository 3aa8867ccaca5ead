"""Benchmarks (not tests): they print figures and write bench/results/latest.json.

    python bench/run.py [--scale 1]

Measured side by side in one run on the same machine:
- compile latency of distinct single-metric queries (every query new: no cache can answer);
- a metric query through the engine (compile + execute + shape rows) against the same SQL
  run directly in DuckDB, median ratio;
- usage recording: two real servers (recording on / off) queried alternately, median ratio.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from app.compiler.query import MetricQuery  # noqa: E402
from app.compiler.sql import compile_query  # noqa: E402
from app.definitions.loader import load_project  # noqa: E402
from app.demo.generator import SEEDED_TABLES, seed  # noqa: E402
from app.engine.database import read_catalog  # noqa: E402
from app.engine.metrics import run_metric_query  # noqa: E402
from app.engine.migrations import apply_migrations  # noqa: E402


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def build_db(scale: float) -> Path:
    path = ROOT / "bench" / "data" / f"scale_{scale:g}.duckdb"
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        apply_migrations(con, ROOT / "migrations")
        seeded = con.execute("SELECT max(scale) FROM meta.seed_runs").fetchone()[0]
        if seeded != scale:
            seed(con, scale)
    return path


def distinct_queries(n: int):
    """Queries of several shapes, each with a new filter value and limit."""
    shapes = [
        ("mrr", "month", ("customer_tier",)),
        ("arpa", "quarter", ("sales_region",)),
        ("new_mrr", "month", ("product_line",)),
        ("daily_active_users", "week", ("team.customer.sales_region",)),
        ("device_events", "hour", ("device_type",)),
        ("team_health_score", "month", ("customer.customer_tier",)),
    ]
    for i, (metric, grain, dims) in zip(range(n), itertools.cycle(shapes)):
        yield MetricQuery(
            metrics=(metric,), grain=grain, dimensions=dims, where=f"{dims[0]} <> 'value_{i}'", limit=1000 + i
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()

    db = build_db(args.scale)
    con = duckdb.connect(str(db), read_only=True)
    project = load_project(ROOT, read_catalog(con))
    rows = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in SEEDED_TABLES}

    compile_ms = []
    for q in distinct_queries(600):
        started = time.perf_counter()
        compile_query(project, q).sql("duckdb")
        compile_ms.append((time.perf_counter() - started) * 1000)

    ratios, engine_ms, raw_ms = [], [], []
    query = MetricQuery(metrics=("mrr",), grain="month", dimensions=("customer_tier",))
    sql = compile_query(project, query).sql("duckdb")
    for _ in range(args.repeat):
        started = time.perf_counter()
        run_metric_query(con, project, query, timeout_s=60)
        a = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        con.execute(sql).fetchall()
        b = (time.perf_counter() - started) * 1000
        engine_ms.append(a)
        raw_ms.append(b)
        ratios.append(a / b)

    con.close()
    from usage_overhead import measure  # noqa: PLC0415

    usage = measure(db)

    results = {
        "scale": args.scale,
        "rows": rows,
        "compile_p50_ms": round(statistics.median(compile_ms), 3),
        "compile_p99_ms": round(percentile(compile_ms, 99), 3),
        "engine_query_p50_ms": round(statistics.median(engine_ms), 3),
        "raw_duckdb_p50_ms": round(statistics.median(raw_ms), 3),
        "engine_over_raw_ratio": round(statistics.median(ratios), 3),
        **usage,
    }
    out = ROOT / "bench" / "results" / "latest.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print("| figure | value |\n|---|---:|")
    for key, value in results.items():
        if key != "rows":
            print(f"| {key} | {value} |")
    print(f"\nlargest table: {max(rows.values()):,} rows; written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
