"""API keys and scopes: 401 without a valid key, 403 without the scope, the key's name as consumer."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from app.api.auth import AuthConfigError
from app.api.main import create_app
from app.settings import Settings
from tests.api.conftest import app_client
from tests.conftest import ROOT

KEYS = {
    "reader": ("r-secret-1", ["read"]),
    "ci": ("c-secret-2", ["read", "impact"]),
    "ops": ("o-secret-3", ["read", "impact", "admin"]),
}


def keys_file(tmp_path: Path) -> Path:
    lines = ["keys:"]
    for name, (key, scopes) in KEYS.items():
        lines.append(
            f"  - {{name: {name}, key_sha256: {hashlib.sha256(key.encode()).hexdigest()}, "
            f"scopes: [{', '.join(scopes)}]}}"
        )
    path = tmp_path / "keys.yml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def client(demo_db: Path, tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("auth")
    db = tmp / "auth.duckdb"
    shutil.copy(demo_db, db)
    settings = Settings(database=db, project_dir=ROOT, api_keys_file=keys_file(tmp))
    with app_client(create_app(settings)) as c:
        yield c


def bearer(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[name][0]}"}


def test_no_key_and_a_wrong_key_are_401_problems(client) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"X-API-Key": "nope"}, {"Authorization": "Basic abc"}):
        r = client.get("/metrics/mrr", params={"grain": "month"}, headers=headers)
        assert r.status_code == 401, headers
        assert r.headers["content-type"] == "application/problem+json"
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert "nope" not in r.text


def test_health_stays_open_and_says_auth_is_on(client) -> None:
    assert client.get("/health").json() == {"status": "ok", "auth": "on"}  # liveness only, without a key
    body = client.get("/health", headers=bearer("reader")).json()
    assert body["auth"] == "on" and not any("Authentication is off" in w for w in body["warnings"])


@pytest.mark.parametrize(
    ("name", "read", "impact", "admin"), [("reader", 200, 403, 403), ("ci", 200, 200, 403), ("ops", 200, 200, 200)]
)
def test_each_scope(client, name: str, read: int, impact: int, admin: int) -> None:
    assert client.get("/metrics/mrr", params={"grain": "year"}, headers=bearer(name)).status_code == read
    assert client.post("/impact", json={"files": {}}, headers=bearer(name)).status_code == impact
    r = client.post("/admin/reload", headers={"X-API-Key": KEYS[name][0]})
    assert r.status_code == admin
    if admin == 403:
        assert r.headers["content-type"] == "application/problem+json" and "'admin' scope" in r.json()["detail"]


def test_the_key_name_is_the_consumer(client) -> None:
    for _ in range(3):
        client.get("/metrics/arr", params={"grain": "quarter"}, headers={**bearer("ci"), "X-Consumer": "spoofed"})
    rows = {
        r["key"]: r
        for r in client.get(
            "/usage", params={"group_by": "consumer", "metric": "arr"}, headers=bearer("reader")
        ).json()["rows"]
    }
    # X-Consumer only refines the key's name: never a consumer of its own
    assert rows["ci/spoofed"]["requests"] >= 3 and "spoofed" not in rows


def test_the_result_cache_does_not_bypass_auth(client) -> None:
    params = {"grain": "month", "start": "2026-01-01"}
    assert client.get("/metrics/mrr", params=params, headers=bearer("reader")).status_code == 200
    assert client.get("/metrics/mrr", params=params, headers=bearer("reader")).json()["meta"]["cached"] is True
    assert client.get("/metrics/mrr", params=params).status_code == 401


def test_an_invalid_keys_file_refuses_to_start(tmp_path: Path, demo_db: Path) -> None:
    bad = tmp_path / "keys.yml"
    bad.write_text("keys:\n  - {name: x, key_sha256: short, scopes: [read]}\n")
    with pytest.raises(AuthConfigError, match="keys.yml"):
        create_app(Settings(database=demo_db, project_dir=ROOT, api_keys_file=bad))
    bad.write_text(f"keys:\n  - {{name: x, key_sha256: {'a' * 64}, scopes: [write]}}\n")
    with pytest.raises(AuthConfigError, match="unknown scopes"):
        create_app(Settings(database=demo_db, project_dir=ROOT, api_keys_file=bad))
