"""What middlewares and routes share about one request: one typed object, read through one accessor.

The outermost middleware that needs it creates it (``request_context`` creates it on first use);
everything after reads and fills the same object:

- ``tracking.UsageMiddleware`` sets ``usage`` on paths that touch a metric or an entity and
  records it as an event once the response is sent;
- ``auth.AuthMiddleware`` sets ``api_key`` (the consumer of the usage event);
- ``caching.CacheMiddleware`` sets ``cache_key`` on a miss: where the route stores its answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.types import Scope

if TYPE_CHECKING:
    from app.api.caching import CacheKey
    from app.api.tracking import UsageContext

_STATE_KEY = "tapflow.request"


@dataclass
class RequestContext:
    usage: UsageContext | None = None  # what the request's usage event will record; None: not tracked
    cache_key: CacheKey | None = None  # where the answer goes in the result cache; None: not cached
    api_key: str | None = None  # the name of the API key presented (valid, whatever its scopes)


def request_context(scope: Scope) -> RequestContext:
    """This request's context (created on first use, kept in ``scope["state"]``)."""
    state = scope.setdefault("state", {})
    ctx = state.get(_STATE_KEY)
    if not isinstance(ctx, RequestContext):
        ctx = state[_STATE_KEY] = RequestContext()
    return ctx
