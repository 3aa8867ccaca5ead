"""The server's own limits (issue 12, point 12), on a real server: a client trickling its request
headers is disconnected after TAPFLOW_HEADER_TIMEOUT_S, and connections past TAPFLOW_MAX_CONNECTIONS
are answered 503 while normal requests go on being served."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlparse

import httpx

from tests.helpers import module_server

base = module_server(TAPFLOW_HEADER_TIMEOUT_S="1")
limited = module_server(TAPFLOW_HEADER_TIMEOUT_S="120", TAPFLOW_MAX_CONNECTIONS="6")


def trickler(base: str) -> socket.socket:
    url = urlparse(base)
    sock = socket.create_connection((url.hostname, url.port), timeout=30)
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # and never the blank line that ends the headers
    return sock


def closed_by_server(sock: socket.socket, within_s: float = 30) -> bool:
    """Whether the server closes the connection (a bounded wait for an outcome, not a timing race)."""
    deadline = time.monotonic() + within_s
    sock.settimeout(1)
    while time.monotonic() < deadline:
        try:
            data = sock.recv(1024)
        except TimeoutError:
            sock.sendall(b"X-Slow: 1\r\n")  # keep trickling
            continue
        except (ConnectionResetError, BrokenPipeError):
            return True
        if data == b"" or b"408" in data or b"400" in data:
            return True
    return False


def test_a_client_trickling_headers_is_disconnected(base) -> None:
    sock = trickler(base)
    try:
        assert closed_by_server(sock)
    finally:
        sock.close()
    assert httpx.get(base + "/health", timeout=30).status_code == 200


def eventually(base: str, status: int) -> bool:
    """Whether /health answers ``status`` within 100 tries (the server sees connections asynchronously)."""
    for _ in range(100):
        if httpx.get(base + "/health", timeout=30).status_code == status:
            return True
        time.sleep(0.1)
    return False


def test_connections_past_the_limit_are_refused_and_service_recovers(limited) -> None:
    held = [trickler(limited) for _ in range(6)]
    try:
        assert eventually(limited, 503)
    finally:
        for sock in held:
            sock.close()
    assert eventually(limited, 200)
