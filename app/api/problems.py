"""RFC 9457 problem documents: one builder for every error the service answers.

The exception handlers (``install``) and the pure ASGI middlewares (``asgi.send_problem``: auth,
body limit) all render a ``TapflowError`` with ``problem_json``; framework errors (a route miss,
a wrong method, a request that fails validation) are first turned into their ``TapflowError``.
"""

from __future__ import annotations

import json
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import (
    Forbidden,
    HttpError,
    InternalError,
    InvalidRequest,
    MethodNotAllowed,
    PayloadTooLarge,
    TapflowError,
    Unauthorized,
    UnknownRoute,
)

PROBLEM_TYPE = "https://tapflow.dev/problems/"
MEDIA_TYPE = "application/problem+json"


def problem_body(error: TapflowError, instance: str) -> dict[str, Any]:
    """The problem document of ``error`` at ``instance`` (the request path)."""
    return {
        "type": PROBLEM_TYPE + error.type_slug,
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
        "instance": instance,
        "errors": error.errors,
        **error.extra,
    }


def problem_json(error: TapflowError, instance: str) -> bytes:
    return json.dumps(
        problem_body(error, instance), ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=str
    ).encode()


def problem(error: TapflowError, instance: str = "") -> Response:
    """The problem response of ``error``, with the headers it carries (such as ``Link`` or ``WWW-Authenticate``)."""
    return Response(
        problem_json(error, instance), status_code=error.status, media_type=MEDIA_TYPE, headers=error.headers or None
    )


def http_error(exc: StarletteHTTPException, request: Request) -> TapflowError:
    """The error class of an HTTP error the framework raised (a route miss, a wrong method ...)."""
    method, path = request.method, request.url.path
    error: TapflowError
    if exc.status_code == 404:
        error = UnknownRoute(f"No route {method} {path}. See /docs for the endpoints.")
    elif exc.status_code == 405:
        error = MethodNotAllowed(f"Method {method} is not allowed on {path}.")
    else:
        kinds: dict[int, type[TapflowError]] = {
            400: InvalidRequest,
            401: Unauthorized,
            403: Forbidden,
            413: PayloadTooLarge,
        }
        kind = kinds.get(exc.status_code)
        error = kind(str(exc.detail)) if kind else HttpError(str(exc.detail), status=exc.status_code)
    error.headers = dict(exc.headers or {})
    return error


def validation_error(exc: RequestValidationError) -> InvalidRequest:
    errors = [
        {
            "location": ".".join(str(p) for p in e.get("loc", ())),
            "message": e.get("msg", ""),
            "input": _jsonable(e.get("input")),
        }
        for e in exc.errors()
    ]
    detail = "; ".join(f"{e['location']}: {e['message']}" for e in errors) or "Invalid request"
    return InvalidRequest(detail, errors=errors)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every exception into a problem document."""

    @app.exception_handler(TapflowError)
    async def _tapflow(request: Request, exc: TapflowError) -> Response:
        return problem(exc, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        return problem(validation_error(exc), request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        return problem(http_error(exc, request), request.url.path)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        return problem(InternalError("An unexpected error occurred; it has been logged."), request.url.path)


def _jsonable(value: Any) -> Any:
    """A rejected input as JSON (NaN and Infinity, which a JSON body may carry, as text)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
