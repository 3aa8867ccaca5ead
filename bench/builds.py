"""Entity builds, measured (not tests): the full build of every entity table and rollup at scale 1 and 10, a
one-day incremental refresh against it, the rows per second of the daily customer snapshot, and the rollups'
share of each.

    python bench/builds.py [--scales 1 10] [--repeat 3]

For each scale: seed the demo inputs into a fresh file, build everything (full refresh), then append one day
of new inputs after the data's end (the app activity and device telemetry of its last day, moved a day on,
arriving now) and run the default incremental build up to the day after. Medians of
``--repeat`` runs of each, measured side by side; written to bench/results/builds.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.definitions.loader import load_project  # noqa: E402
from app.demo.clock import DATA_END  # noqa: E402
from app.demo.generator import seed  # noqa: E402
from app.demo.pipeline import build_everything  # noqa: E402
from app.engine.building.plan import BuildRequest, plan_build  # noqa: E402
from app.engine.building.runner import run_build  # noqa: E402
from app.engine.database import connection, read_catalog  # noqa: E402
from app.engine.migrations import apply_migrations  # noqa: E402

DATA = ROOT / "bench" / "data"
RESULTS = ROOT / "bench" / "results"
NEXT_DAY = (  # the last day's app activity and device telemetry again, a day later, arriving now
    "INSERT INTO staging.stg_app__user_activities SELECT user_id, session_id + 1000000000000, "
    "activity_timestamp + INTERVAL 1 DAY, actions_taken, feature, now() FROM staging.stg_app__user_activities "
    "WHERE CAST(activity_timestamp AS DATE) = $day",
    "INSERT INTO staging.stg_devices__telemetry SELECT hour + INTERVAL 1 DAY, device_id, events, errors, "
    "uptime_seconds, is_online FROM staging.stg_devices__telemetry WHERE CAST(hour AS DATE) = $day",
)


def log(message: str) -> None:
    print(f"[builds {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def measure(scale: float) -> dict[str, object]:
    path = DATA / f"builds_{scale:g}.duckdb"
    path.unlink(missing_ok=True)
    with connection(path) as con:
        apply_migrations(con, ROOT / "migrations")
        log(f"scale {scale:g}: seeding inputs")
        seeded = seed(con, scale)
        con.execute("CHECKPOINT")  # the inputs' own write-ahead log is the loader's cost, not the build's
        log(f"scale {scale:g}: full build")
        started = time.perf_counter()
        full = build_everything(con, ROOT, datetime.now())
        con.execute("CHECKPOINT")
        full_s = time.perf_counter() - started
        for sql in NEXT_DAY:
            con.execute(sql, {"day": DATA_END})
        con.execute("CHECKPOINT")  # as after the full build: each timed run starts from a checkpointed file
        until = datetime.combine(DATA_END + timedelta(days=2), datetime.min.time())
        project = load_project(ROOT, read_catalog(con))
        plan = plan_build(con, project, BuildRequest(), until, resume=False)
        log(f"scale {scale:g}: one-day incremental refresh ({len(plan.batches)} batches)")
        started = time.perf_counter()
        incremental = run_build(con, project, plan, origin="bench")
        con.execute("CHECKPOINT")  # each timed run includes persisting what it wrote
        incremental_s = time.perf_counter() - started
    daily = next(t for t in full.tables if t.name == "entity.entity_customers_daily")
    return {
        "scale": scale,
        "input_rows": seeded.total_rows,
        "built_rows": sum(t.rows for t in full.tables),
        "full_build_s": round(full_s, 2),
        "full_batches": sum(t.batches for t in full.tables),
        "incremental_s": round(incremental_s, 2),
        "incremental_batches": sum(t.batches for t in incremental.tables),
        "incremental_over_full": round(incremental_s / full_s, 4),
        "daily_snapshot_rows": daily.rows,
        "daily_snapshot_rows_per_s": round(daily.rows / daily.seconds) if daily.seconds else None,
        "rollups_full_s": round(sum(t.seconds for t in full.tables if t.name.startswith("rollup.")), 2),
        "rollups_refresh_s": round(sum(t.seconds for t in incremental.tables if t.name.startswith("rollup.")), 2),
        "rollup_batches_refresh": sum(t.batches for t in incremental.tables if t.name.startswith("rollup.")),
        "slowest_tables": sorted(((t.name, round(t.seconds, 2)) for t in full.tables), key=lambda x: -x[1])[:4],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 10.0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = []
    for scale in args.scales:
        runs = [measure(scale) for _ in range(args.repeat)]
        median = {k: statistics.median(r[k] for r in runs) for k in ("full_build_s", "incremental_s")}
        summary = runs[0] | {f"median_{k}": v for k, v in median.items()}
        summary["median_incremental_over_full"] = round(median["incremental_s"] / median["full_build_s"], 4)
        summary["runs"] = [
            {
                k: r[k]
                for k in (
                    "full_build_s",
                    "incremental_s",
                    "daily_snapshot_rows_per_s",
                    "rollups_full_s",
                    "rollups_refresh_s",
                )
            }
            for r in runs
        ]
        out.append(summary)
        log(json.dumps(summary))
    (RESULTS / "builds.json").write_text(json.dumps(out, indent=2))
    print(
        "| scale | input rows | built rows | full build (median) | one-day refresh (median) | refresh / full "
        "| daily snapshot rows/s |"
    )
    print("|---|---|---|---|---|---|---|")
    for s in out:
        print(
            f"| {s['scale']:g} | {s['input_rows']:,} | {s['built_rows']:,} | {s['median_full_build_s']:.1f} s "
            f"({s['full_batches']} batches) | {s['median_incremental_s']:.2f} s ({s['incremental_batches']} batches) "
            f"| {100 * s['median_incremental_over_full']:.1f}% | {s['daily_snapshot_rows_per_s']:,} |"
        )


if __name__ == "__main__":
    main()
