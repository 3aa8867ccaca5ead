"""Overhead of usage recording: two real servers side by side, one recording usage, one not.

Requests alternate between the two servers (same query, same data, separate copies of the
file) so that machine noise hits both alike; the figure is the ratio of median latencies.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
QUERIES = {  # a small metric query, and a request as cheap as a cached answer (no database work)
    "query": ("/metrics/mrr", {"grain": "quarter", "start": "2026-01-01"}),
    "cheap": ("/metrics/mrr/definition", {}),
}


def _serve(db: Path, port: int, tracking: bool) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAPFLOW_")}
    env |= {
        "TAPFLOW_DATABASE": str(db),
        "TAPFLOW_PROJECT_DIR": str(ROOT),
        "TAPFLOW_USAGE_TRACKING": "true" if tracking else "false",
        "TAPFLOW_LOG_LEVEL": "warning",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait(base: str) -> None:
    for _ in range(300):
        try:
            httpx.get(base + "/health", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{base} did not start")


def measure(db: Path, requests: int = 400) -> dict[str, float]:
    work = db.parent / "usage_bench"
    work.mkdir(exist_ok=True)
    on_db, off_db = work / "on.duckdb", work / "off.duckdb"
    shutil.copy(db, on_db)
    shutil.copy(db, off_db)
    servers = [_serve(on_db, 8791, True), _serve(off_db, 8792, False)]
    try:
        bases = ["http://127.0.0.1:8791", "http://127.0.0.1:8792"]
        for base in bases:
            _wait(base)
        out: dict[str, float] = {"usage_requests_each": requests}
        with httpx.Client(timeout=30) as client:
            for label, (path, params) in QUERIES.items():
                timings: dict[str, list[float]] = {"on": [], "off": []}
                for i in range(requests * 2 + 20):
                    which = "on" if (i % 2 == 0) == ((i // 2) % 2 == 0) else "off"  # ABBA order
                    url = (bases[0] if which == "on" else bases[1]) + path
                    started = time.perf_counter()
                    r = client.get(url, params=params, headers={"X-Consumer": "bench"})
                    elapsed = (time.perf_counter() - started) * 1000
                    r.raise_for_status()
                    if i >= 20:  # warm-up excluded
                        timings[which].append(elapsed)
                on, off = statistics.median(timings["on"]), statistics.median(timings["off"])
                out |= {
                    f"usage_{label}_on_p50_ms": round(on, 3),
                    f"usage_{label}_off_p50_ms": round(off, 3),
                    f"usage_{label}_overhead_pct": round(100 * (on - off) / off, 2),
                }
    finally:
        for proc in servers:
            proc.terminate()
            proc.wait(timeout=30)
    return out


if __name__ == "__main__":
    print(measure(Path(sys.argv[1])))
