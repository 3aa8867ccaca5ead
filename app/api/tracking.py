"""Usage tracking at the HTTP edge: every request touching a metric or entity becomes one usage event."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.auth import INTERNAL
from app.api.context import request_context
from app.compiler.query import MetricQuery
from app.governance.usage import UsageEvent

MAX_CONSUMER = 64
SUB_CONSUMER = re.compile(r"[A-Za-z0-9._-]{1,64}")  # what X-Consumer may add to a key's name
UNSAFE = re.compile(r"[^A-Za-z0-9 ._/@:()+-]")  # what a consumer's name never holds


@dataclass(frozen=True)
class UsageSnapshot:
    """What a rendered answer taught its usage event; a cache hit of that answer records the same."""

    metrics: tuple[str, ...]
    versions: tuple[int | None, ...]
    entities: tuple[str, ...]
    grain: str | None
    dimensions: tuple[str, ...]
    row_count: int | None
    deprecated: tuple[str, ...]


@dataclass
class UsageContext:
    """What the route learned about the request; the middleware adds consumer, status and timing."""

    endpoint: str
    metrics: list[str] = field(default_factory=list)
    versions: list[int | None] = field(default_factory=list)
    entities: list[str] = field(default_factory=list)
    grain: str | None = None
    dimensions: list[str] = field(default_factory=list)
    row_count: int | None = None
    deprecated: list[str] = field(default_factory=list)

    def note_query(self, query: MetricQuery) -> None:
        self.metrics, self.grain, self.dimensions = list(query.metrics), query.grain, list(query.dimensions)

    def snapshot(self) -> UsageSnapshot:
        """What was learned, frozen (every field of UsageSnapshot, lists as tuples)."""
        learned: dict[str, Any] = {}
        for f in fields(UsageSnapshot):
            value = getattr(self, f.name)
            learned[f.name] = tuple(value) if isinstance(value, list) else value
        return UsageSnapshot(**learned)

    def restore(self, snapshot: UsageSnapshot) -> None:
        for f in fields(UsageSnapshot):
            value = getattr(snapshot, f.name)
            setattr(self, f.name, list(value) if isinstance(value, tuple) else value)


def context_for(path: str) -> UsageContext | None:
    """A context for paths that touch a metric or an entity, else None."""
    parts = [unquote(p) for p in path.strip("/").split("/")]
    if len(parts) >= 2 and parts[0] == "metrics":
        suffix = "/" + "/".join(parts[2:]) if len(parts) > 2 else ""
        return UsageContext(f"/metrics/{{name}}{suffix}", metrics=[parts[1][:200]])
    if parts and parts[0] == "query":
        return UsageContext("/" + "/".join(parts))
    if len(parts) == 2 and parts[0] == "entities":
        return UsageContext("/entities/{name}", entities=[parts[1][:200]])
    return None


def consumer_of(scope: Scope, api_key: str | None) -> str:
    """Who asks. With keys on, the key's name, which a valid ``X-Consumer`` may only refine as
    ``key-name/sub-consumer`` (letters, digits, ``._-``, at most 64); without keys, ``X-Consumer``
    or User-Agent with any character outside a safe set replaced; else "anonymous"."""
    headers: dict[bytes, bytes] = dict(scope.get("headers") or [])
    claimed = headers.get(b"x-consumer", b"").decode("latin-1").strip()
    if api_key:
        return f"{api_key}/{claimed}" if SUB_CONSUMER.fullmatch(claimed) else api_key
    for name in (b"x-consumer", b"user-agent"):
        value = headers.get(name, b"").decode("latin-1").strip()
        if value:
            return UNSAFE.sub("_", value[:MAX_CONSUMER])
    return "anonymous"


class UsageMiddleware:
    """Pure ASGI (no per-request task or body buffering): times the request and records one event.

    With keys on (``keys_on``), only an authenticated request is evidence of use: one without a
    valid key is counted in ``UsageRecorder.unauthenticated``, never recorded as an event."""

    def __init__(self, app: ASGIApp, keys_on: bool = False) -> None:
        self.app = app
        self.keys_on = keys_on

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        usage = context_for(scope["path"]) if scope["type"] == "http" else None
        if usage is None:
            await self.app(scope, receive, send)
            return
        ctx = request_context(scope)
        ctx.usage = usage
        if scope.get(INTERNAL):  # the service's own request (internal.py): the answer it caches learns what a
            await self.app(scope, receive, send)  # usage event would (versions, deprecations), none is recorded
            return
        status = 500
        started = time.perf_counter()

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            self._record(scope, ctx.api_key, usage, status, time.perf_counter() - started)

    def _record(self, scope: Scope, api_key: str | None, usage: UsageContext, status: int, elapsed_s: float) -> None:
        recorder = scope["app"].state.tapflow.recorder
        if self.keys_on and api_key is None:  # not evidence of use: counted, never an event
            recorder.unauthenticated += 1
            return
        recorder.record(
            UsageEvent(
                # the real time, even when a sunset is rehearsed with TAPFLOW_NOW: only deprecation
                # decisions read that clock
                event_time=datetime.now(UTC).replace(tzinfo=None),
                consumer=consumer_of(scope, api_key),
                method=scope["method"],
                endpoint=usage.endpoint,
                path=scope["path"][:500],
                metrics=usage.metrics,
                versions=usage.versions or [None] * len(usage.metrics),
                entities=usage.entities,
                grain=usage.grain,
                dimensions=usage.dimensions,
                status=status,
                row_count=usage.row_count,
                elapsed_ms=elapsed_s * 1000,
                deprecated=usage.deprecated,
                query=scope.get("query_string", b"").decode("latin-1")[:2000] if scope["method"] == "GET" else "",
            )
        )
