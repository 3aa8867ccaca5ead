"""A bounded load generator for loopback tests: N concurrent clients for S seconds, then it stops
issuing and waits for the requests in flight, so every answer is counted exactly.

    python bench/load.py URL --seconds 60 --concurrency 64   -> prints JSON figures
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from urllib.parse import urlencode

PATHS = [  # dashboard queries (cached after their first answer) and ad hoc ones (new filter values)
    ("/metrics/mrr", {"grain": "month", "start": "2026-01-01"}),
    ("/metrics/arr", {"grain": "quarter"}),
    ("/metrics/active_customers", {"grain": "month", "dimensions": "customer_tier"}),
    ("/metrics/new_mrr", {"grain": "month", "dimensions": "product_line"}),
    ("/metrics/daily_active_users", {"grain": "week", "start": "2026-09-01"}),
    ("/metrics/team_health_score", {"grain": "quarter"}),
]


def pick(rng: random.Random) -> tuple[str, dict[str, str], str]:
    if rng.random() < 0.1:
        return "/metrics/mrr", {"grain": "month", "where": f"customer_tier <> 'x{rng.randrange(10**9)}'"}, "ad_hoc"
    return *rng.choice(PATHS), "dashboard"


async def client(
    base: str, deadline: float, seed: int, latencies: dict[str, list[float]], statuses: dict, failures: list
):
    """One keep-alive HTTP/1.1 connection on raw asyncio streams (a light client leaves the CPU to the server)."""
    rng = random.Random(seed)
    host, port = base.removeprefix("http://").split(":")
    reader = writer = None
    while time.monotonic() < deadline:
        path, params, kind = pick(rng)
        target = path + "?" + urlencode(params)
        request = (f"GET {target} HTTP/1.1\r\nHost: {host}\r\nX-Consumer: load-{seed % 8}\r\n\r\n").encode()
        started = time.perf_counter()
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, int(port))
            writer.write(request)
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            await reader.readexactly(length)
            status = int(status_line.split()[1])
        except (OSError, asyncio.IncompleteReadError, IndexError, ValueError) as exc:
            failures.append(type(exc).__name__)
            writer = None
            await asyncio.sleep(0.05)
            continue
        latencies[kind].append((time.perf_counter() - started) * 1000)
        statuses[status] = statuses.get(status, 0) + 1
    if writer is not None:
        writer.close()


async def run(base: str, seconds: float, concurrency: int) -> dict:
    latencies: dict[str, list[float]] = {"dashboard": [], "ad_hoc": []}
    statuses: dict[int, int] = {}
    failures: list[str] = []
    deadline = time.monotonic() + seconds
    started = time.monotonic()
    await asyncio.gather(*(client(base, deadline, i, latencies, statuses, failures) for i in range(concurrency)))
    elapsed = time.monotonic() - started
    everything = latencies["dashboard"] + latencies["ad_hoc"]
    out = {
        "responses": len(everything),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "transport_errors": len(failures),
        "elapsed_s": round(elapsed, 1),
        "rps": round(len(everything) / elapsed, 1),
        **percentiles(everything, ""),
    }
    for kind, values in latencies.items():
        out |= percentiles(values, f"{kind}_") | {f"{kind}_responses": len(values)}
    return out


def percentiles(values: list[float], prefix: str) -> dict[str, float]:
    ordered = sorted(values)

    def pct(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q / 100 * (len(ordered) - 1)))], 2) if ordered else 0.0

    return {f"{prefix}p50_ms": pct(50), f"{prefix}p99_ms": pct(99), f"{prefix}max_ms": pct(100)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.url, args.seconds, args.concurrency))))


if __name__ == "__main__":
    main()
