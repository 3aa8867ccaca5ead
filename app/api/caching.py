"""Result caching at the HTTP edge: repeated dashboard queries never reach FastAPI or DuckDB.

``CacheMiddleware`` answers ``GET /metrics/{name}`` from the result cache (200, or 304 when the
client's ``If-None-Match`` matches), before routing and validation. On a miss it hands the
request key to the route, which renders the answer and stores it (``store``).
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.asgi import send_bytes
from app.engine.cache import Entry

CACHE_CONTROL = "no-cache"  # clients may keep a copy but must revalidate (cheap: 304)


def request_key(scope: Scope) -> tuple:
    """Method, path, the query parameters sorted, and whether CSV is wanted."""
    query = tuple(sorted(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)))
    accept = b"text/csv" in dict(scope.get("headers") or []).get(b"accept", b"")
    return (scope["method"], scope["path"], query, accept)


def full_key(state: Any, key: tuple) -> tuple:
    return (state.project.hash, state.data_version, key)


def etag_of(payload: Any) -> str:
    digest = hashlib.sha1(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:24]
    return f'W/"{digest}"'


def matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = [t.strip() for t in if_none_match.split(",")]
    bare = etag.removeprefix("W/")
    return "*" in tags or any(t.removeprefix("W/") == bare for t in tags)


def expiry(ttl_s: float, sunsets: list[datetime], now: datetime) -> float:
    """When an entry must stop being served: its TTL, or the first sunset it would cross."""
    seconds = ttl_s
    for sunset in sunsets:
        seconds = min(seconds, max(0.0, (sunset - now).total_seconds()))
    return time.monotonic() + seconds


class CacheMiddleware:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or not _is_data_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        state = scope["app"].state.tapflow
        if not state.cache.enabled:
            await self.app(scope, receive, send)
            return
        key = full_key(state, request_key(scope))
        entry = state.cache.get(key)
        if entry is None:
            scope.setdefault("state", {})["cache_key"] = key
            await self.app(scope, receive, send)
            return
        remember_usage(scope.get("state", {}).get("usage"), entry)
        headers = dict(scope.get("headers") or [])
        if matches(headers.get(b"if-none-match", b"").decode("latin-1"), entry.etag):
            await send_bytes(send, 304, b"", {"etag": entry.etag, "cache-control": CACHE_CONTROL})
            return
        await send_bytes(send, 200, entry.body, {"content-type": entry.media_type, **entry.headers})


def remember_usage(ctx: Any, entry: Entry) -> None:
    """A cache hit is usage too: copy what the original answer learned into this request's event."""
    if ctx is not None:
        for name, value in entry.usage.items():
            setattr(ctx, name, value)


def _is_data_path(path: str) -> bool:
    parts = path.split("/")
    return len(parts) == 3 and parts[1] == "metrics" and parts[2] != ""
