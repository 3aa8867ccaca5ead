"""Warm after refresh (DESIGN 13): once a build has changed the data, the answers most asked for over the last
24 hours are computed again into the result cache, so a dashboard's first load after a refresh never waits.

Each is asked of the application itself, as the original request was (same path and query string), marked as
the service's own request: no key needed, no usage event recorded, the answer stored as any other."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from starlette.types import ASGIApp

from app.api.internal import ask_all

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
    done = sum(answer.status == 200 for answer in ask_all(app, asks))
    log.info("warmed %d of the %d answers most asked for in the last 24 hours", done, len(asks))
    return done
