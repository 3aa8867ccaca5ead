"""Overhead of usage recording: two real servers side by side, one recording usage, one not.

Requests alternate between the two servers (same query, same data, separate copies of the
file) so that machine noise hits both alike; the figure is the ratio of median latencies.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from server import bench_server  # noqa: E402

QUERIES = {  # a small metric query, and a request as cheap as a cached answer (no database work)
    "query": ("/metrics/mrr", {"grain": "quarter", "start": "2026-01-01"}),
    "cheap": ("/metrics/mrr/definition", {}),
}


def measure(db: Path, requests: int = 400) -> dict[str, float]:
    work = db.parent / "usage_bench"
    work.mkdir(exist_ok=True)
    on_db, off_db = work / "on.duckdb", work / "off.duckdb"
    shutil.copy(db, on_db)
    shutil.copy(db, off_db)
    with bench_server(on_db, usage_tracking="true") as on, bench_server(off_db, usage_tracking="false") as off:
        bases = [on.base, off.base]
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
                on_p50, off_p50 = statistics.median(timings["on"]), statistics.median(timings["off"])
                out |= {
                    f"usage_{label}_on_p50_ms": round(on_p50, 3),
                    f"usage_{label}_off_p50_ms": round(off_p50, 3),
                    f"usage_{label}_overhead_pct": round(100 * (on_p50 - off_p50) / off_p50, 2),
                }
    return out


if __name__ == "__main__":
    print(measure(Path(sys.argv[1])))
