"""The fast lane: ``GET /metrics/{name}``, the request dashboards make most, answered before FastAPI's router.

The route (``routes.metrics.metric_data``) is what answers, called with what FastAPI's dependency injection would
give it; the lane only spares the routing, the dependency solving and the exception middleware around each
request (about half a millisecond after a query has left the processor's caches cold: measured in bench/). Its
errors are the problem documents the exception handlers send. FastAPI still lists the route in the OpenAPI schema.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.context import request_context
from app.api.problems import problem, validation_error
from app.api.routes.metrics import metric_data
from app.errors import TapflowError


class MetricDataLane:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        name = _metric_name(scope)
        if name is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        response: Response
        try:
            response = await metric_data(name, request, scope["app"].state.tapflow, request_context(scope))
        except TapflowError as exc:  # as the exception handlers answer (problems.install)
            response = problem(exc, request.url.path)
        except RequestValidationError as exc:
            response = problem(validation_error(exc), request.url.path)
        await response(scope, receive, send)


def _metric_name(scope: Scope) -> str | None:
    """The metric of a ``GET /metrics/{name}`` request (None for any other request: the router takes it)."""
    if scope["type"] != "http" or scope["method"] != "GET":
        return None
    path: str = scope["path"]
    if not path.startswith("/metrics/"):
        return None
    name = path[len("/metrics/") :]
    return name if name and "/" not in name else None
