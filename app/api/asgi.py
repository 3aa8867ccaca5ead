"""Sending whole responses from pure ASGI middleware (no Starlette Response objects)."""

from __future__ import annotations

import json

from starlette.types import Scope, Send

from app.api.problems import MEDIA_TYPE, PROBLEM_TYPE


async def send_bytes(send: Send, status: int, body: bytes, headers: dict[str, str]) -> None:
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    raw.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def send_problem(
    send: Send, scope: Scope, status: int, title: str, detail: str, headers: dict[str, str] | None = None
) -> None:
    body = json.dumps(
        {
            "type": PROBLEM_TYPE + title.lower().replace(" ", "-"),
            "title": title,
            "status": status,
            "detail": detail,
            "instance": scope["path"],
            "errors": [],
        }
    ).encode()
    await send_bytes(send, status, body, {"content-type": MEDIA_TYPE, **(headers or {})})
