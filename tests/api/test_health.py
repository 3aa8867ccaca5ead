"""A real uvicorn server: /health, problem documents, refusing invalid definitions."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import httpx

from tests.helpers import ROOT, env_for, running_server


def test_real_server_serves_health_and_problems(demo_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "served.duckdb"
    shutil.copy(demo_db, db)
    with running_server(env_for(db)) as base:
        health = httpx.get(base + "/health").json()
        assert health["status"] == "ok" and health["seeded"] is True
        assert len(health["definitions_hash"]) == 64 and health["metrics"] >= 25
        assert health["auth"] == "off" and any("Authentication is off" in w for w in health["warnings"])
        missing = httpx.get(base + "/no/such/route")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
        body = missing.json()
        assert {"type", "title", "status", "detail", "instance", "errors"} <= set(body)


def test_server_refuses_to_start_on_invalid_definitions(project_copy: Path, demo_db: Path, tmp_path: Path) -> None:
    shutil.copy(ROOT / "tests" / "broken" / "m06_unknown_dimension.yml", project_copy / "metrics" / "zz.yml")
    db = tmp_path / "served.duckdb"
    shutil.copy(demo_db, db)
    proc = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve", "--port", "1"],
        cwd=ROOT,
        env=env_for(db, project_copy),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "metrics/zz.yml:11" in proc.stderr + proc.stdout


def test_a_cli_write_while_the_server_holds_the_file_is_a_clear_error(demo_db: Path, tmp_path: Path) -> None:
    from tests.helpers import tapflow

    db = tmp_path / "held.duckdb"
    shutil.copy(demo_db, db)
    with running_server(env_for(db)) as base:
        for command in (["seed", "--scale", "0.05"], ["migrate"]):
            result = tapflow(*command, env=env_for(db))
            assert result.returncode == 1
            assert "is in use by another process (is `tapflow serve` running?)" in result.stderr
        assert httpx.get(base + "/metrics/mrr", params={"grain": "year"}).status_code == 200
