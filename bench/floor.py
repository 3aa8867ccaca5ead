"""The floor of the end-to-end bench: the least an HTTP service in Python adds to a DuckDB query on this machine.

A bare ASGI application under the same uvicorn (httptools, uvloop) as the service: ``GET /q/{i}`` runs the i-th
query of the JSON file ``FLOOR_QUERIES`` names (SQL and parameters, as the service binds them) on the read-only
DuckDB file ``FLOOR_DB``, in one worker thread, and answers its rows as JSON, the time of its database step in
``Server-Timing`` as the service's. No routing, validation, compilation, governance or metadata: what is left
of its time over the same SQL run in-process is the HTTP round trip, the hop to a thread and back, and the
processes' wake-ups.

    FLOOR_DB=... FLOOR_QUERIES=... uvicorn --app-dir bench floor:app --port 8001
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
import orjson

CON = duckdb.connect(os.environ["FLOOR_DB"], read_only=True)
QUERIES: list[tuple[str, dict[str, Any]]] = json.loads(Path(os.environ["FLOOR_QUERIES"]).read_text())
WORKERS = ThreadPoolExecutor(4)


def rows(i: int) -> tuple[bytes, float]:
    """The i-th query's rows as JSON, and the milliseconds of its database step (cursor, execute, fetch)."""
    sql, params = QUERIES[i]
    started = time.perf_counter()
    cur = CON.cursor()
    try:
        fetched = cur.execute(sql, params).fetchall()
        elapsed = (time.perf_counter() - started) * 1000
        return orjson.dumps(fetched, default=str), elapsed
    finally:
        cur.close()


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body, db = await asyncio.get_running_loop().run_in_executor(WORKERS, rows, int(scope["path"].rsplit("/", 1)[1]))
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"server-timing", f"db;dur={db:.3f}".encode()),  # as the service times its database step
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
