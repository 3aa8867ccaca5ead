"""Warm after refresh (DESIGN 13): once a build has changed the data, the answers most asked for over the last
24 hours are computed again into the result cache, so a dashboard's first load after a refresh never waits.

Each is asked of the application itself, as the original request was (same path and query string), marked as
the service's own request: no key needed, no usage event recorded, the answer stored as any other."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Message

from app.api.auth import INTERNAL

if TYPE_CHECKING:
    from app.api.state import ServiceState

log = logging.getLogger("tapflow.warm")
WINDOW = timedelta(hours=24)


def most_asked(state: ServiceState, limit: int) -> list[tuple[str, str]]:
    """(path, query string) of the GET answers asked for most often in the last 24 hours, most first."""
    state.recorder.flush()  # the events still buffered count too
    since = datetime.now(UTC).replace(tzinfo=None) - WINDOW
    with state.statedb.transaction() as cur:
        rows = cur.execute(
            "SELECT path, query FROM meta.usage_events WHERE event_time >= ? AND method = 'GET' "
            "AND endpoint = '/metrics/{name}' AND status = 200 AND query IS NOT NULL "
            "GROUP BY path, query ORDER BY count(*) DESC, path, query LIMIT ?",
            [since, limit],
        ).fetchall()
    return [(str(path), str(query)) for path, query in rows]


def warm(app: ASGIApp, state: ServiceState) -> int:
    """Compute the most asked-for answers into the result cache; how many were answered (200)."""
    limit = state.settings.warm_queries
    if limit == 0 or not state.cache.enabled or state.closed:
        return 0
    asks = most_asked(state, limit)
    if not asks:
        return 0
    done = asyncio.run(_ask_all(app, asks))
    log.info("warmed %d of the %d answers most asked for in the last 24 hours", done, len(asks))
    return done


async def _ask_all(app: ASGIApp, asks: list[tuple[str, str]]) -> int:
    done = 0
    for path, query in asks:
        done += await _ask(app, path, query) == 200
    return done


async def _ask(app: ASGIApp, path: str, query: str) -> int:
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query.encode("latin-1"),
        "headers": [(b"host", b"tapflow"), (b"user-agent", b"tapflow-warming")],
        "client": ("127.0.0.1", 0),
        "server": ("tapflow", 0),
        INTERNAL: True,
    }
    status = 0

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])

    await app(scope, receive, send)
    return status
