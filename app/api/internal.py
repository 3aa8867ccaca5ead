"""The service's own requests to itself, in process: no key needed, no usage event recorded.

Warming (warming.py) asks for the answers most asked for after a build; the web catalog's sparklines
(routes/ui.py) and ``tapflow docs`` ask for metric answers. Both go through the whole application, middleware included,
so what they get is what a client would get.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message

from app.api.auth import INTERNAL


@dataclass
class Answer:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


async def ask(app: ASGIApp, path: str, query: str = "", agent: str = "tapflow-warming") -> Answer:
    """GET ``path?query`` from ``app`` as the service itself."""
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
        "headers": [(b"host", b"tapflow"), (b"user-agent", agent.encode("latin-1"))],
        "client": ("127.0.0.1", 0),
        "server": ("tapflow", 0),
        INTERNAL: True,
    }
    answer = Answer()

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            answer.status = int(message["status"])
            answer.headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in message.get("headers", [])}
        elif message["type"] == "http.response.body":
            answer.body += message.get("body", b"")

    await app(scope, receive, send)
    return answer


def ask_all(app: ASGIApp, asks: list[tuple[str, str]], agent: str = "tapflow-warming") -> list[Answer]:
    """Each of ``asks`` (path, query) in turn, from a thread without an event loop of its own."""

    async def every() -> list[Answer]:
        return [await ask(app, path, query, agent) for path, query in asks]

    return asyncio.run(every())
