"""Request size limit at the edge: a body over ``max_body_bytes`` is a 413 before anything reads it."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.asgi import send_problem
from app.errors import PayloadTooLarge


class BodyTooLarge(Exception):
    """Raised into the app by ``receive`` once the body passes the limit (a body without Content-Length)."""


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is None and b"transfer-encoding" not in headers:  # HTTP/1.1: no body follows
            await self.app(scope, receive, send)
            return
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(send, scope)
            return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._reject(send, scope)

    async def _reject(self, send: Send, scope: Scope) -> None:
        error = PayloadTooLarge(f"The request body is larger than {self.max_bytes} bytes (TAPFLOW_MAX_BODY_BYTES).")
        await send_problem(send, scope, error)
