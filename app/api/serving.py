"""uvicorn for the service: its timeouts and connection limit from Settings, and a header timeout.

uvicorn closes idle keep-alive connections (``timeout_keep_alive``) and answers 503 past
``limit_concurrency``, but waits forever for a request whose headers trickle in a byte at a time;
``HeaderTimeout`` closes such a connection after ``Settings.header_timeout_s``. With httptools (uvicorn[standard]),
its connections also send a response's head with its body (``OneWrite``) where uvicorn writes them apart.
"""

from __future__ import annotations

import asyncio
import gc
from typing import Any, cast

import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.h11_impl import H11Protocol

from app.settings import Settings

try:  # uvicorn's faster parser, when installed (uvicorn[standard])
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _Base
except ImportError:  # pragma: no cover - depends on the environment
    _Base = H11Protocol  # type: ignore[assignment,misc]


class OneWrite:
    """A response's transport that sends its head with the first bytes of its body: uvicorn writes the head
    apart, which is one more system call and TCP segment, and a client woken for a head it cannot use yet."""

    def __init__(self, transport: asyncio.Transport, cycle: Any) -> None:
        self._transport, self._cycle = transport, cycle
        self._head: bytes | None = None
        self._started = False

    def write(self, data: bytes) -> None:
        if not self._started and self._cycle.response_started:  # the head (a 100 Continue comes before it)
            self._started, self._head = True, data
            return
        if self._head is not None:
            head, self._head = self._head, None
            self._transport.writelines([head, data])
            return
        self._transport.write(data)

    def flush(self) -> None:
        """Send a head still held (a response without body bytes: HEAD)."""
        if self._head is not None:
            head, self._head = self._head, None
            self._transport.write(head)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class HeaderTimeout(_Base):
    """uvicorn's HTTP protocol, closing a connection whose request headers are not complete in time."""

    header_timeout_s = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._waiting_for_headers():
            if self._header_timer is None:
                self._arm()
        else:
            self._disarm()

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        cycle = self.cycle  # the request's (queued behind others when pipelined)
        if cycle is not None and not isinstance(cycle.transport, OneWrite):
            held = OneWrite(self.transport, cycle)
            cycle.transport = cast(asyncio.Transport, held)  # what the cycle calls is there; the rest delegated
            done = cycle.on_response

            def completed() -> None:
                held.flush()
                done()

            cycle.on_response = completed

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _waiting_for_headers(self) -> bool:
        return self.cycle is None or bool(self.cycle.response_complete)

    def _arm(self) -> None:
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._expire)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _expire(self) -> None:
        self._header_timer = None
        if self._waiting_for_headers() and not self.transport.is_closing():
            self.transport.close()


# Python's default is a young collection every 700 allocations: several in the compile of a new query shape, whose
# sqlglot trees are cycles (each node links its parent) that only the collector frees. Measured interleaved in one
# process at scale 10: the 48 dashboard shapes compiled cold, p50 0.73 -> 0.65 ms, mean 0.90 -> 0.68, p99 2.6 -> 1.3
# (25 rounds each; with no collector at all, 0.66); the bench's new shapes, p50 0.99 -> 0.90 ms (20 passes each).
# The young garbage it lets wait is a few MiB.
COLLECTOR_THRESHOLDS = (50_000, 20, 100)


def collect_less() -> None:
    """The collector's thresholds of a serving process (``tapflow serve``, and the bench measuring its compile)."""
    gc.set_threshold(*COLLECTOR_THRESHOLDS)


def server_config(app: FastAPI, settings: Settings, host: str, port: int) -> uvicorn.Config:
    protocol = type("TapflowHTTP", (HeaderTimeout,), {"header_timeout_s": settings.header_timeout_s})
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=settings.log_level,
        http=protocol,
        timeout_keep_alive=max(1, round(settings.keep_alive_s)),
        limit_concurrency=settings.max_connections,
    )
