"""The benchmarks' server: the one launcher (``Server`` in tests/helpers.py), set up for measuring."""

from __future__ import annotations

import http.client
import sys
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.helpers import Server, env_for  # noqa: E402


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
