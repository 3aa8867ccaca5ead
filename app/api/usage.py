"""Usage tracking at the HTTP edge: every request touching a metric or entity becomes one event."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from urllib.parse import unquote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.governance.usage import UsageEvent

MAX_CONSUMER = 200


@dataclass
class UsageContext:
    """What the route learned about the request; the middleware adds status and timing."""

    endpoint: str
    metrics: list[str] = field(default_factory=list)
    versions: list[int | None] = field(default_factory=list)
    entities: list[str] = field(default_factory=list)
    grain: str | None = None
    dimensions: list[str] = field(default_factory=list)
    row_count: int | None = None
    deprecated: list[str] = field(default_factory=list)
    consumer: str | None = None  # set by authentication (the API key's name)


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


def consumer_of(scope: Scope, ctx: UsageContext) -> str:
    if ctx.consumer:
        return ctx.consumer
    headers = dict(scope.get("headers") or [])
    for name in (b"x-consumer", b"user-agent"):
        value = headers.get(name, b"").decode("latin-1").strip()
        if value:
            return value[:MAX_CONSUMER]
    return "anonymous"


class UsageMiddleware:
    """Pure ASGI (no per-request task or body buffering): times the request and records one event."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        ctx = context_for(scope["path"]) if scope["type"] == "http" else None
        if ctx is None:
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})["usage"] = ctx
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
            state = scope["app"].state.tapflow
            state.recorder.record(
                UsageEvent(
                    event_time=state.settings.clock(),
                    consumer=consumer_of(scope, ctx),
                    method=scope["method"],
                    endpoint=ctx.endpoint,
                    path=scope["path"][:500],
                    metrics=ctx.metrics,
                    versions=ctx.versions or [None] * len(ctx.metrics),
                    entities=ctx.entities,
                    grain=ctx.grain,
                    dimensions=ctx.dimensions,
                    status=status,
                    row_count=ctx.row_count,
                    elapsed_ms=(time.perf_counter() - started) * 1000,
                    deprecated=ctx.deprecated,
                )
            )
