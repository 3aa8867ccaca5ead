"""Load and faults (bounded, loopback only): `make soak`.

1. 64 concurrent clients for 60 s against a real server: errors, p50/p99; then the result cache
   filled to its byte cap with distinct large answers, and the server's peak RSS; after SIGTERM,
   the usage events must equal the requests answered.
2. The same load, SIGKILL in the middle, restart: the database opens, migrations and the
   registry are intact; usage events lost = answers given minus events recorded.
3. A CLI command that writes while the server holds the file gets a clear error.
Writes bench/results/soak.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from run import build_db  # noqa: E402
from server import bench_server  # noqa: E402

from app.engine.database import connection  # noqa: E402


def load(base: str, seconds: float, concurrency: int) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "bench" / "load.py"),
            base,
            "--seconds",
            str(seconds),
            "--concurrency",
            str(concurrency),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )


def fill_cache(base: str) -> dict:
    """Distinct large answers until the cache holds 90% of TAPFLOW_CACHE_MAX_BYTES; with how many
    requests that took (each one a usage event)."""
    import httpx

    requests = 0
    with httpx.Client(base_url=base, timeout=300) as client:
        for offset in range(5000):
            cache = client.get("/health").json()["cache"]
            if cache["bytes"] >= 0.9 * cache["max_bytes"]:
                break
            params = {"grain": "hour", "dimensions": "feature", "limit": 100_000, "offset": offset}
            client.get("/metrics/actions", params=params)
            requests += 1
        return dict(client.get("/health").json()["cache"]) | {"requests": requests}


def count(db: Path, sql: str) -> int:
    with connection(db, read_only=True) as con:
        return con.execute(sql).fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    source = build_db(args.scale)
    db = source.parent / "soak.duckdb"
    for suffix in ("", ".wal"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    subprocess.run(["cp", str(source), str(db)], check=True)
    results: dict = {"scale": args.scale, "concurrency": args.concurrency, "seconds": args.seconds}

    # 1. sustained load, then a clean shutdown
    with bench_server(db) as server:
        figures = json.loads(load(server.base, args.seconds, args.concurrency).communicate()[0])
        results["cache_filled"] = fill_cache(server.base)
        results["peak_rss_mib"] = round(server.peak_rss_mib(), 1)
        busy = subprocess.run(
            [str(Path(sys.executable).parent / "tapflow"), "seed"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env={**os.environ, "TAPFLOW_DATABASE": str(db)},
        )
    events = count(db, "SELECT count(*) FROM meta.usage_events")
    results["load"] = figures
    results["errors"] = figures["transport_errors"] + sum(v for k, v in figures["statuses"].items() if k != "200")
    results["events_after_sigterm"] = events
    results["events_equal_answers"] = events == figures["responses"] + results["cache_filled"]["requests"]
    results["concurrent_writer"] = {"exit_code": busy.returncode, "message": busy.stderr.strip()[:300]}

    # 2. SIGKILL under load, restart
    migrations = count(db, "SELECT count(*) FROM meta.schema_migrations")
    registry = count(db, "SELECT count(*) FROM meta.metric_versions")
    server = bench_server(db)
    with server:
        generator = load(server.base, 20, args.concurrency)
        time.sleep(8)
        os.kill(server.proc.pid, signal.SIGKILL)
        server.proc.wait()
        killed = json.loads(generator.communicate()[0])
    with bench_server(db) as restarted:
        import httpx

        health = httpx.get(restarted.base + "/health").json()
        answer = httpx.get(restarted.base + "/metrics/mrr", params={"grain": "year"}).status_code
    recorded = count(db, "SELECT count(*) FROM meta.usage_events") - events
    results["sigkill"] = {
        "answers_before_kill": killed["responses"],
        "events_recorded": recorded,
        "events_lost": killed["responses"] - recorded,
        "restart_health": health["status"],
        "query_after_restart": answer,
        "migrations_intact": count(db, "SELECT count(*) FROM meta.schema_migrations") == migrations,
        "registry_intact": count(db, "SELECT count(*) FROM meta.metric_versions") >= registry,
    }
    out = ROOT / "bench" / "results" / "soak.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    f, k = results["load"], results["sigkill"]
    print(f"| figure | value |\n|---|---:|\n| clients x seconds | {args.concurrency} x {args.seconds:g} |")
    print(f"| requests answered | {f['responses']:,} ({f['rps']} per s) |\n| errors | {results['errors']} |")
    print(f"| p50 / p99 / max latency | {f['p50_ms']} / {f['p99_ms']} / {f['max_ms']} ms |")
    for kind in ("dashboard", "ad_hoc"):
        print(f"| {kind} ({f[kind + '_responses']:,}): p50 / p99 | {f[kind + '_p50_ms']} / {f[kind + '_p99_ms']} ms |")
    answered = f["responses"] + results["cache_filled"]["requests"]
    print(f"| usage events after SIGTERM | {events:,} (answers, cache filling included: {answered:,}) |")
    c = results["cache_filled"]
    print(
        f"| server peak RSS, the result cache full ({c['bytes'] / 2**20:.0f} of {c['max_bytes'] / 2**20:.0f} MiB, "
        f"{c['entries']} answers) | {results['peak_rss_mib']} MiB |"
    )
    print(
        f"| SIGKILL under load: answers / events recorded / lost | {k['answers_before_kill']:,} / "
        f"{k['events_recorded']:,} / {k['events_lost']} |"
    )
    intact = [("intact" if k[key] else "BROKEN") for key in ("migrations_intact", "registry_intact")]
    print(
        f"| after restart: health, a query, migrations, registry | {k['restart_health']}, "
        f"{k['query_after_restart']}, {intact[0]}, {intact[1]} |"
    )
    print(f"| `tapflow seed` while the server runs | exit {busy.returncode}: {busy.stderr.strip()[:120]} |")


if __name__ == "__main__":
    main()
