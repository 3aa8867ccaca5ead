"""The benchmarks' server: the one launcher (``Server`` in tests/helpers.py), set up for measuring."""

from __future__ import annotations

import sys
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
