"""The benchmarks' server: the one launcher (``Server`` in tests/helpers.py), set up for measuring."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.helpers import Server, env_for, free_port  # noqa: E402


def bench_server(db: Path, **settings: str) -> Server:
    """``tapflow serve`` over ``db`` on a free loopback port: the shipped definitions, the real clock,
    warnings-only logging, output discarded. ``settings`` are TAPFLOW_* settings by their short
    name (``cache_ttl_s="0"``). Use it as a context manager; ``peak_rss_mib()`` reads its memory."""
    extra = {f"TAPFLOW_{k.upper()}": v for k, v in settings.items()}
    return Server(env_for(db, now=None, TAPFLOW_LOG_LEVEL="warning", **extra), quiet=True, stop_s=60)


class Keepalive:
    """GET requests on one kept-alive connection through the standard library's ``http.client``: the
    measuring client. httpx spends about a millisecond of its own per request on this machine (measured
    beside it in the end-to-end bench), which is the client's cost, not the service's; wrk, curl and a
    browser spend a fraction of that."""

    def __init__(self, base: str):
        parts = urllib.parse.urlsplit(base)
        self.conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=300)

    def get(self, path: str, params: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        self.conn.request("GET", f"{path}?{urllib.parse.urlencode(params)}" if params else path)
        response = self.conn.getresponse()
        body = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body

    def close(self) -> None:
        self.conn.close()


@contextmanager
def floor_server(db: Path, queries: list[tuple[str, dict[str, Any]]]) -> Iterator[str]:
    """bench/floor.py under uvicorn over ``db`` (read-only) answering ``queries``: its base URL."""
    with tempfile.NamedTemporaryFile("w", suffix=".json") as listed:
        json.dump(queries, listed)
        listed.flush()
        port = free_port()
        env = os.environ | {"FLOOR_DB": str(db), "FLOOR_QUERIES": listed.name}
        command = [sys.executable, "-m", "uvicorn", "--app-dir", str(ROOT / "bench"), "floor:app"]
        command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"]
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    http.client.HTTPConnection("127.0.0.1", port, timeout=1).connect()
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("bench/floor.py did not start") from None
                    time.sleep(0.1)
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.terminate()
            proc.wait(30)
