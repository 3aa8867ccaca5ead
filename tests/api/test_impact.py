"""Impact analysis: value diffs against hand-written SQL, a real server, and the CI command in real git."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from app.definitions.loader import load_texts, read_definition_files
from app.governance.gitfiles import unified_diff
from app.governance.impact import analyze
from tests.helpers import ROOT, env_for, running_server, tapflow
from tests.unit.test_changes import edit_metric

NOW = "2026-11-26T12:00:00"


def proposal_new_mrr(files: dict[str, str]) -> dict[str, str]:
    out = dict(files)
    edit_metric(
        out, "metrics/subscriptions.yml", "new_mrr", "expression: new_mrr", "expression: new_mrr + expansion_mrr"
    )
    return out


def test_value_diff_matches_hand_written_sql(root: Path, catalog, oracle) -> None:
    files = read_definition_files(root)
    old = load_texts(files, catalog)
    report = analyze(
        old, proposal_new_mrr(files), catalog=catalog, con=oracle, now=datetime(2026, 11, 26), timeout_s=30, base=root
    )
    item = next(i for i in report.items if i.change.name == "new_mrr")
    diff = item.value_diff
    assert diff["grain"] == "month" and diff["periods"] == 12
    expected = {
        str(m): (float(a), float(b))
        for m, a, b in oracle.execute(
            """SELECT month_start, sum(new_mrr), sum(new_mrr + expansion_mrr)
               FROM entity.entity_subscriptions_monthly GROUP BY 1 ORDER BY 1 DESC LIMIT 12"""
        ).fetchall()
    }
    assert [r["period"] for r in diff["rows"]] == sorted(expected)
    for row in diff["rows"]:
        before, after = expected[row["period"]]
        assert row["before"] == pytest.approx(before) and row["after"] == pytest.approx(after)
        assert row["delta"] == pytest.approx(after - before)
        # a month without new customers has no new MRR before the change: no relative delta then
        assert row["relative_delta"] == (pytest.approx((after - before) / abs(before)) if before else None)
    assert diff["periods_changed"] == 12
    assert report.verdict == "fail" and "net_new_mrr" in item.dependents


@pytest.fixture(scope="module")
def server(demo_db: Path, tmp_path_factory: pytest.TempPathFactory):
    db = tmp_path_factory.mktemp("impact") / "tapflow.duckdb"
    shutil.copy(demo_db, db)
    with running_server(env_for(db, TAPFLOW_NOW=NOW)) as base:
        yield base


def breaking_mrr(files: dict[str, str]) -> dict[str, str]:
    out = dict(files)
    edit_metric(
        out,
        "metrics/revenue.yml",
        "mrr",
        "expression: monthly_recurring_revenue",
        "expression: monthly_recurring_revenue * 0.9",
    )
    return out


def comparable(body: dict) -> dict:
    body = dict(body)
    body.pop("markdown", None)
    return body


def test_impact_of_a_breaking_change_lists_the_consumer(server) -> None:
    for _ in range(2):
        assert (
            httpx.get(
                server + "/metrics/mrr", params={"grain": "month"}, headers={"X-Consumer": "cfo-dashboard"}
            ).status_code
            == 200
        )
    files = read_definition_files(ROOT)
    proposed = breaking_mrr(files)
    as_json = httpx.post(
        server + "/impact", json={"files": {"metrics/revenue.yml": proposed["metrics/revenue.yml"]}}, timeout=60
    )
    assert as_json.status_code == 200, as_json.text
    body = as_json.json()
    assert body["verdict"] == "fail"
    mrr = next(c for c in body["changes"] if c["name"] == "mrr")
    assert mrr["classification"] == "breaking" and mrr["required_version"] == 2 and mrr["version_ok"] is False
    assert {"consumer": "cfo-dashboard", "requests": 2} == {
        k: v for k, v in mrr["consumers"][0].items() if k in ("consumer", "requests")
    }
    assert mrr["consumers"][0]["versions"] == [1]
    assert all(r["relative_delta"] == pytest.approx(-0.1) for r in mrr["value_diff"]["rows"])
    assert "cfo-dashboard (2 requests, v1)" in body["markdown"] and "```mermaid" in body["markdown"]

    as_diff = httpx.post(
        server + "/impact",
        content=unified_diff(files, proposed).encode(),
        headers={"content-type": "text/x-diff"},
        timeout=60,
    )
    assert as_diff.status_code == 200, as_diff.text
    assert comparable(as_diff.json()) == comparable(body)

    markdown = httpx.post(
        server + "/impact",
        content=unified_diff(files, proposed).encode(),
        headers={"content-type": "text/x-diff", "accept": "text/markdown"},
        timeout=60,
    )
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert markdown.text.startswith("## TapFlow metric impact: **FAIL**")


def test_invalid_proposal_fails_with_file_and_line(server) -> None:
    files = read_definition_files(ROOT)
    broken = files["metrics/revenue.yml"].replace("calculation_method: sum", "calculation_method: total", 1)
    body = httpx.post(server + "/impact", json={"files": {"metrics/revenue.yml": broken}}, timeout=60).json()
    assert body["verdict"] == "fail"
    assert body["problems"][0]["file"] == "metrics/revenue.yml" and "'total'" in body["problems"][0]["message"]


def test_a_diff_that_does_not_apply_is_a_clear_400(server) -> None:
    bad = "--- a/metrics/revenue.yml\n+++ b/metrics/revenue.yml\n@@ -1,2 +1,2 @@\n-version: 3\n+version: 2\n context\n"
    r = httpx.post(server + "/impact", content=bad.encode(), headers={"content-type": "text/x-diff"})
    assert r.status_code == 400 and "does not apply" in r.json()["detail"]


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.email=ci@tapflow.dev", "-c", "user.name=CI", *args],
        check=True,
        capture_output=True,
    )


def test_tapflow_impact_in_a_real_git_repository(tmp_path: Path, demo_db: Path, server) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    for folder in ("metrics", "entities", "migrations", "docs"):
        shutil.copytree(ROOT / folder, repo / folder)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    revenue = repo / "metrics" / "revenue.yml"
    revenue.write_text(breaking_mrr({"metrics/revenue.yml": revenue.read_text()})["metrics/revenue.yml"])
    git(repo, "commit", "-qam", "mrr at 90%")
    db = tmp_path / "ci.duckdb"
    shutil.copy(demo_db, db)
    env = env_for(db, repo, TAPFLOW_NOW=NOW)

    failed = tapflow("impact", "--base", "HEAD~1", env=env)
    assert failed.returncode == 1, failed.stderr
    assert failed.stdout.startswith("## TapFlow metric impact: **FAIL**")
    assert "declare version 2" in failed.stdout and "| expression |" in failed.stdout

    remote = tapflow("impact", "--base", "HEAD~1", "--url", server, "--format", "json", env=env)
    assert remote.returncode == 1 and json.loads(remote.stdout)["verdict"] == "fail"

    text = revenue.read_text()
    text = text.replace(
        "    expression: monthly_recurring_revenue * 0.9\n",
        "    expression: monthly_recurring_revenue * 0.9\n    version: 2\n"
        "    previous_versions:\n      - {version: 1, expression: monthly_recurring_revenue}\n",
        1,
    )
    revenue.write_text(text)
    git(repo, "commit", "-q", "--amend", "-am", "mrr at 90%, as version 2")
    passed = tapflow("impact", "--base", "HEAD~1", env=env)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert passed.stdout.startswith("## TapFlow metric impact: **PASS**")

    assert tapflow("impact", "--base", "no-such-ref", env=env).returncode == 2
