"""Usage is evidence (issue 12, points 4, 11 and 13), on a real server with keys: a request without a
valid key is counted, never recorded; the consumer is the key's name, which X-Consumer may only
refine; /health tells a stranger only that the service is alive; events carry the real time even
when a sunset is rehearsed with TAPFLOW_NOW."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from app.governance.report import md
from tests.helpers import env_for, keyed_copy, running_server

READER = "reader-key-9"


@pytest.fixture(scope="module")
def base(demo_db: Path, tmp_path_factory: pytest.TempPathFactory):
    db, keys = keyed_copy(demo_db, tmp_path_factory.mktemp("usage-evidence"), {"reader": (READER, ["read"])})
    # a sunset rehearsed far in the future: events must still carry today's time
    env = env_for(db, now="2031-06-01T00:00:00", TAPFLOW_API_KEYS_FILE=str(keys), TAPFLOW_USAGE_FLUSH_S="0.1")
    with running_server(env) as url:
        yield url


def get(base: str, path: str, key: str | None = None, **headers: str) -> httpx.Response:
    if key:
        headers["authorization"] = f"Bearer {key}"
    return httpx.get(base + path, headers=headers, timeout=30)


def consumers(base: str) -> dict[str, dict]:
    r = get(base, "/usage?group_by=consumer", READER)
    assert r.status_code == 200, r.text
    return {row["key"]: row for row in r.json()["rows"]}


def test_unauthenticated_requests_are_counted_not_recorded(base) -> None:
    before = get(base, "/health", READER).json()["unauthenticated_requests"]
    for _ in range(25):
        r = get(base, "/metrics/mrr?grain=month", **{"x-consumer": "finance-dashboard"})
        assert r.status_code == 401
        assert get(base, "/metrics/mrr", "not-a-key", **{"x-consumer": "finance-dashboard"}).status_code == 401
    assert get(base, "/health", READER).json()["unauthenticated_requests"] == before + 50
    assert not [c for c in consumers(base) if "finance" in c]


def test_the_consumer_is_the_key_refined_only_by_a_safe_sub_consumer(base) -> None:
    assert get(base, "/metrics/mrr", READER, **{"x-consumer": "board-pack"}).status_code == 200
    assert get(base, "/metrics/mrr", READER, **{"x-consumer": "**x** | <img src=y>"}).status_code == 200
    assert get(base, "/metrics/mrr", READER, **{"x-consumer": "a" * 65}).status_code == 200
    seen = consumers(base)
    assert "reader/board-pack" in seen and "reader" in seen
    assert all(name in ("reader", "reader/board-pack") for name in seen), seen


def test_events_carry_the_real_time_while_a_sunset_is_rehearsed(base) -> None:
    assert get(base, "/metrics/mrr", READER).status_code == 200
    real = datetime.now(UTC).replace(tzinfo=None)
    for row in consumers(base).values():
        seen = datetime.fromisoformat(row["last_seen"])
        assert real - timedelta(hours=1) < seen < real + timedelta(hours=1), row


def test_health_tells_a_stranger_only_that_it_is_alive(base) -> None:
    stranger = get(base, "/health")
    assert stranger.status_code == 200 and stranger.json() == {"status": "ok", "auth": "on"}
    for bad in ("not-a-key",):
        assert get(base, "/health", bad).json() == {"status": "ok", "auth": "on"}
    known = get(base, "/health", READER).json()
    assert {"database", "pid", "definitions_hash"} <= set(known)


def test_user_text_is_literal_in_markdown() -> None:
    text = md("**bold** _it_ `code` <img src=x onerror=alert(1)> [link](http://x) | cell # head")
    assert re.search(r"(?<!\\)[*_`<>\[\]()|#]", text) is None, text  # every special character escaped
    assert text.replace("\\", "") == "**bold** _it_ `code` <img src=x onerror=alert(1)> [link](http://x) | cell # head"
    assert "\n" not in md("two\nlines")
