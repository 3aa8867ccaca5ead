"""Definitions are a trust boundary (issue 12, points 1 and 3): every body of the hostile corpus is
refused at load time by /impact (with a key holding only the impact scope), /admin/reload and
`tapflow validate`; none reads data, the files or the environment, and none takes long."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from app.cli import cli as cli_app
from tests.api.hostile_definitions import EXPRESSIONS, YAML, corpus
from tests.conftest import ROOT
from tests.helpers import env_for, running_server, tapflow

CANARY = "s3cr3t-canary-7f1c"
IMPACT_KEY, ADMIN_KEY = "impact-only-key", "admin-key"
CORPUS = corpus()
# what a body that read data would leak: a customer's name, the canary, the database's path, a file
LEAKS = (CANARY, "Initech Robotics 1", "tapflow.duckdb", "root:x:0:0")


def keys(tmp: Path) -> Path:
    path = tmp / "keys.yml"
    rows = [("ci", IMPACT_KEY, "impact"), ("ops", ADMIN_KEY, "admin")]
    path.write_text(
        "keys:\n"
        + "".join(
            f"  - {{name: {n}, key_sha256: {hashlib.sha256(k.encode()).hexdigest()}, scopes: [{s}]}}\n"
            for n, k, s in rows
        )
    )
    return path


@pytest.fixture(scope="module")
def served(demo_db: Path, tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("hostile-defs")
    db, project = tmp / "tapflow.duckdb", tmp / "project"
    shutil.copy(demo_db, db)
    for folder in ("metrics", "entities", "docs", "migrations"):
        shutil.copytree(ROOT / folder, project / folder)
    env = env_for(db, project, TAPFLOW_API_KEYS_FILE=str(keys(tmp))) | {"CANARY_SECRET": CANARY}
    with running_server(env) as base:
        yield base, project


def test_the_corpus_is_large_and_varied() -> None:
    assert len(CORPUS) >= 30
    assert len(EXPRESSIONS) >= 15 and len(YAML) >= 8


def test_a_leak_would_be_seen(oracle) -> None:
    """The premise of LEAKS: the demo's first customer has that name."""
    assert oracle.execute("SELECT customer_name FROM entity.entity_customers ORDER BY customer_id").fetchone() == (
        "Initech Robotics 1",
    )


@pytest.mark.parametrize(("name", "text"), CORPUS, ids=[name for name, _ in CORPUS])
def test_impact_refuses_it(served, name, text) -> None:
    base, _ = served
    started = time.monotonic()
    r = httpx.post(
        f"{base}/impact",
        json={"files": {"metrics/evil.yml": text}},
        headers={"authorization": f"Bearer {IMPACT_KEY}"},
        timeout=60,
    )
    elapsed = time.monotonic() - started
    if r.status_code == 200:  # the report of a proposal that does not load: verdict fail, its problems
        body = r.json()
        assert body["verdict"] == "fail", r.text
        problems = [p for p in body["problems"] if p["file"] == "metrics/evil.yml"]
        assert len(problems) == 1, body["problems"]
        assert not body.get("metrics"), "a refused proposal computes nothing"
    else:
        assert r.status_code in (413, 422) and r.headers["content-type"].startswith("application/problem+json")
    assert not any(leak in r.text for leak in LEAKS), r.text
    assert elapsed < 5, f"{name} took {elapsed:.1f} s"  # each takes milliseconds; 5 s only catches a blow-up


@pytest.mark.parametrize(("name", "text"), CORPUS, ids=[name for name, _ in CORPUS])
def test_reload_refuses_it_and_keeps_serving(served, name, text) -> None:
    base, project = served
    admin = {"authorization": f"Bearer {ADMIN_KEY}"}
    before = httpx.get(f"{base}/health", headers=admin, timeout=30).json()["definitions_hash"]
    evil = project / "metrics" / "evil.yml"
    evil.write_text(text)
    try:
        r = httpx.post(f"{base}/admin/reload", headers=admin, timeout=60)
    finally:
        evil.unlink()
    assert r.status_code in (413, 422), r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert not any(leak in r.text for leak in LEAKS), r.text
    assert httpx.get(f"{base}/health", headers=admin, timeout=30).json()["definitions_hash"] == before


@pytest.mark.parametrize(("name", "text"), CORPUS, ids=[name for name, _ in CORPUS])
def test_validate_refuses_it(tmp_path: Path, name, text) -> None:
    """`tapflow validate` in process (the same command; a process per body would take minutes)."""
    for folder in ("metrics", "entities", "docs"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    (tmp_path / "metrics" / "evil.yml").write_text(text)
    result = CliRunner().invoke(cli_app, ["validate"], env={"TAPFLOW_PROJECT_DIR": str(tmp_path)})
    assert result.exit_code != 0
    assert "metrics/evil.yml" in result.output, result.output
    assert "Traceback" not in result.output


def test_validate_refuses_an_alias_bomb_as_a_process(tmp_path: Path) -> None:
    for folder in ("metrics", "entities", "docs"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    (tmp_path / "metrics" / "evil.yml").write_text(YAML["billion-laughs"])
    result = tapflow("validate", env=env_for(tmp_path / "none.duckdb", tmp_path), timeout=60)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "expands to more than 50,000 nodes" in result.stdout + result.stderr


def test_tapflow_impact_in_ci_never_prints_the_environment(tmp_path: Path, demo_db: Path) -> None:
    """The Markdown CI posts as a PR comment: a proposal reading the environment never loads, and the
    CLI's own connection could not read it anyway (tests/unit/test_connections.py)."""
    repo = tmp_path / "repo"
    for folder in ("metrics", "entities", "migrations", "docs"):
        shutil.copytree(ROOT / folder, repo / folder)
    for args in (
        ["init", "-q"],
        ["add", "-A"],
        ["-c", "user.email=ci@x", "-c", "user.name=ci", "commit", "-qm", "base"],
    ):
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)
    revenue = repo / "metrics" / "revenue.yml"
    revenue.write_text(
        revenue.read_text().replace(
            "expression: monthly_recurring_revenue\n",
            "expression: \"length(read_text('/proc/self/environ'))\"\n",
            1,
        )
    )
    db = tmp_path / "ci.duckdb"
    shutil.copy(demo_db, db)
    result = tapflow("impact", "--base", "HEAD", env=env_for(db, repo) | {"CANARY_SECRET": CANARY})
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.startswith("## TapFlow metric impact: **FAIL**")
    assert "function 'read\\_text' is not allowed" in result.stdout  # Markdown-escaped
    assert CANARY not in result.stdout + result.stderr
