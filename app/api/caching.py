"""Result caching at the HTTP edge: repeated dashboard queries never reach FastAPI or DuckDB.

``CacheMiddleware`` answers ``GET /metrics/{name}`` and ``GET /cohorts/{name}`` from the result cache
(200, or 304 when the client's ``If-None-Match`` matches), before routing and validation. On a miss it puts the
request's key in the request context, and the route stores its rendered answer there (``store``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import parse_qsl

from fastapi.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.asgi import send_bytes
from app.api.conditional import CACHE_CONTROL, conditional_response, matches
from app.api.context import RequestContext, request_context
from app.api.media import accepts_csv
from app.api.tracking import UsageSnapshot
from app.engine.cache import ResultCache

if TYPE_CHECKING:
    from app.api.rendering import Rendered
    from app.api.state import ServiceState


class CacheKey(NamedTuple):
    """What makes two requests the same answer: the definitions, the data, and the request itself."""

    definitions_hash: str
    data_version: int
    method: str
    path: str
    query: tuple[tuple[str, str], ...] | str  # sorted query parameters, or a canonical JSON body
    csv: bool


@dataclass(frozen=True)
class CachedAnswer:
    body: bytes  # the representation served from cache (meta.cached is true)
    media_type: str
    headers: dict[str, str]  # ETag, Cache-Control, deprecation headers
    etag: str
    expires_at: float  # time.monotonic()
    usage: UsageSnapshot | None  # what the usage event of the original request learned

    @property
    def nbytes(self) -> int:
        return len(self.body) + sum(len(k) + len(v) for k, v in self.headers.items()) + 512


AnswerCache = ResultCache[CachedAnswer]


def cache_key(
    state: ServiceState, method: str, path: str, query: tuple[tuple[str, str], ...] | str, csv: bool
) -> CacheKey:
    return CacheKey(state.project.hash, state.data_version, method, path, query, csv)


def request_key(state: ServiceState, scope: Scope) -> CacheKey:
    """Method, path, the query parameters sorted by name (a repeated one keeps its values' order:
    dimensions=a&dimensions=b is not dimensions=b&dimensions=a), and whether CSV is wanted (by Accept)."""
    pairs = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    query = tuple(sorted(pairs, key=lambda pair: pair[0]))
    accept = accepts_csv(dict(scope.get("headers") or []).get(b"accept", b"").decode("latin-1"))
    return cache_key(state, scope["method"], scope["path"], query, accept)


def expiry(ttl_s: float, sunsets: list[datetime], now: datetime) -> float:
    """When an entry must stop being served: its TTL, or the first sunset it would cross."""
    seconds = ttl_s
    for sunset in sunsets:
        seconds = min(seconds, max(0.0, (sunset - now).total_seconds()))
    return time.monotonic() + seconds


def store(state: ServiceState, key: CacheKey, rendered: Rendered, sunsets: list[datetime], ctx: RequestContext) -> None:
    """Keep a rendered answer (its cached form) until its TTL or the first sunset it touches."""
    expires = expiry(state.cache.ttl_s, sunsets, state.settings.clock())
    usage = ctx.usage.snapshot() if ctx.usage is not None else None
    entry = CachedAnswer(rendered.cached_body, rendered.media_type, rendered.headers, rendered.etag, expires, usage)
    state.cache.put(key, entry)


def replay(entry: CachedAnswer, ctx: RequestContext) -> None:
    """A cache hit is usage too: this request's event records what the original answer learned."""
    if ctx.usage is not None and entry.usage is not None:
        ctx.usage.restore(entry.usage)


def cached_response(if_none_match: str | None, entry: CachedAnswer, ctx: RequestContext) -> Response:
    """An answer from the result cache (for routes that check it themselves, such as POST /query)."""
    replay(entry, ctx)
    return conditional_response(if_none_match, entry.etag, entry.body, entry.media_type, entry.headers)


class CacheMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or not _is_data_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        state: ServiceState = scope["app"].state.tapflow
        if not state.cache.enabled:
            await self.app(scope, receive, send)
            return
        key = request_key(state, scope)
        entry = state.cache.get(key)
        ctx = request_context(scope)
        if entry is None:
            ctx.cache_key = key
            await self.app(scope, receive, send)
            return
        replay(entry, ctx)
        headers = dict(scope.get("headers") or [])
        if matches(headers.get(b"if-none-match", b"").decode("latin-1"), entry.etag):
            await send_bytes(send, 304, b"", {"etag": entry.etag, "cache-control": CACHE_CONTROL})
            return
        await send_bytes(send, 200, entry.body, {"content-type": entry.media_type, **entry.headers})


def _is_data_path(path: str) -> bool:
    parts = path.split("/")
    return len(parts) == 3 and parts[1] in ("metrics", "cohorts") and parts[2] != ""
