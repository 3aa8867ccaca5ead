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


def exchange(base: str, request: bytes, responses: int, *, expect_continue_body: bytes | None = None) -> list[bytes]:
    """Send ``request`` on one connection and read ``responses`` whole responses (by Content-Length; a HEAD's
    and a 304's have no body), within a bounded wait. With ``expect_continue_body``, the body is sent once the
    server's ``100 Continue`` has come."""
    url = urlparse(base)
    out: list[bytes] = []
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(request)
        buffer = b""
        if expect_continue_body is not None:
            while b"\r\n\r\n" not in buffer:
                buffer += sock.recv(65536)
            interim, _, buffer = buffer.partition(b"\r\n\r\n")
            assert interim.startswith(b"HTTP/1.1 100"), interim
            sock.sendall(expect_continue_body)
        methods = [line.split(b" ")[0] for line in request.split(b"\r\n") if line.split(b" ")[0] in (b"GET", b"HEAD")]
        methods += [b"POST"] * responses
        while len(out) < responses:
            while b"\r\n\r\n" not in buffer:
                chunk = sock.recv(65536)
                assert chunk, f"connection closed after {len(out)} responses"
                buffer += chunk
            head, _, buffer = buffer.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if methods[len(out)] == b"HEAD" or b" 304 " in head.split(b"\r\n")[0] + b" ":
                length = 0
            while len(buffer) < length:
                chunk = sock.recv(65536)
                assert chunk, "connection closed inside a body"
                buffer += chunk
            out.append(head + b"\r\n\r\n" + buffer[:length])
            buffer = buffer[length:]
    return out


def test_responses_without_body_and_pipelined_ones_all_arrive(base) -> None:
    """The head of a response is held until its body is written (serving.OneWrite): a HEAD's and a 304's, which
    have no body bytes, still arrive, in order, with the requests pipelined behind them on the same connection."""
    css = httpx.get(base + "/ui/static/tapflow.css", timeout=30)
    etag = css.headers["etag"].encode()
    request = (
        b"HEAD /ui/static/tapflow.css HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /ui/static/tapflow.css HTTP/1.1\r\nHost: x\r\nIf-None-Match: " + etag + b"\r\n\r\n"
        b"GET /metrics/mrr?grain=month HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    head, not_modified, mrr, health = exchange(base, request, 4)
    assert head.startswith(b"HTTP/1.1 200") and head.endswith(b"\r\n\r\n")
    assert not_modified.startswith(b"HTTP/1.1 304")
    assert mrr.startswith(b"HTTP/1.1 200") and b'"metric":"mrr"' in mrr
    assert health.startswith(b"HTTP/1.1 200") and b'"status":"ok"' in health


def test_expect_100_continue_is_answered_before_the_body(base) -> None:
    body = b'{"metrics": ["mrr"], "grain": "quarter"}'
    request = (
        b"POST /query HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    (answer,) = exchange(base, request, 1, expect_continue_body=body)
    assert answer.startswith(b"HTTP/1.1 200") and b'"name":"mrr"' in answer
