"""Sending whole responses from pure ASGI middleware (no Starlette Response objects)."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.types import Scope, Send

from app.api.problems import MEDIA_TYPE, problem_json
from app.errors import TapflowError


async def send_bytes(send: Send, status: int, body: bytes, headers: Mapping[str, str]) -> None:
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    raw.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def send_problem(send: Send, scope: Scope, error: TapflowError) -> None:
    """Answer with the problem document of ``error`` (the same body the exception handlers build)."""
    body = problem_json(error, scope["path"])
    await send_bytes(send, error.status, body, {"content-type": MEDIA_TYPE, **error.headers})
