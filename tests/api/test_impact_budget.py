"""/impact has one time budget, takes the service's query slots and caps what one request analyses
(issue 12, point 8)."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from app.definitions.loader import load_texts, read_definition_files
from app.errors import PayloadTooLarge
from app.governance.impact import analyze
from tests.api.test_impact import proposal_new_mrr
from tests.helpers import module_server
from tests.unit.test_changes import edit_metric

NOW = datetime(2026, 11, 26)


def two_changes(files: dict[str, str]) -> dict[str, str]:
    out = proposal_new_mrr(files)
    edit_metric(out, "metrics/revenue.yml", "mrr", "expression: monthly_recurring_revenue", "expression: 2")
    return out


def test_past_the_budget_the_report_is_partial(root: Path, catalog, oracle) -> None:
    files = read_definition_files(root)
    old = load_texts(files, catalog)
    report = analyze(
        old, proposal_new_mrr(files), catalog=catalog, con=oracle, now=NOW, timeout_s=30, base=root, budget_s=1e-9
    )
    assert report.partial and report.as_dict()["partial"] is True
    assert any("Partial" in note for note in report.notes)
    whole = analyze(old, proposal_new_mrr(files), catalog=catalog, con=oracle, now=NOW, timeout_s=30, base=root)
    assert not whole.partial and whole.items[0].value_diff["rows"]


def test_value_diffs_wait_for_a_query_slot(root: Path, catalog, oracle) -> None:
    files = read_definition_files(root)
    old = load_texts(files, catalog)
    slots = threading.BoundedSemaphore(1)
    slots.acquire()  # every slot busy: the value diff cannot run
    try:
        report = analyze(
            old, proposal_new_mrr(files), catalog=catalog, con=oracle, now=NOW, timeout_s=0.5, base=root, slots=slots
        )
    finally:
        slots.release()
    (item,) = [i for i in report.items if i.change.name == "new_mrr"]
    assert item.value_diff["rows"] == [] and "no query slot" in item.value_diff["note"]


def test_too_many_changes_are_refused(root: Path, catalog, oracle) -> None:
    files = read_definition_files(root)
    old = load_texts(files, catalog)
    with pytest.raises(PayloadTooLarge, match="TAPFLOW_IMPACT_MAX_CHANGES"):
        analyze(old, two_changes(files), catalog=catalog, con=oracle, now=NOW, timeout_s=30, base=root, max_changes=1)


tight = module_server(TAPFLOW_IMPACT_TIMEOUT_S="0.000001")
capped = module_server(TAPFLOW_IMPACT_MAX_CHANGES="1")


def test_a_real_server_answers_504_with_the_partial_report(tight, root: Path) -> None:
    files = proposal_new_mrr(read_definition_files(root))
    body = {"files": {"metrics/subscriptions.yml": files["metrics/subscriptions.yml"]}}
    r = httpx.post(f"{tight}/impact", json=body, timeout=60)
    assert r.status_code == 504 and r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert "TAPFLOW_IMPACT_TIMEOUT_S" in body["detail"] and body["report"]["partial"] is True


def test_a_real_server_refuses_a_proposal_of_thousands_of_metrics(capped) -> None:
    metrics = "".join(
        f"  - {{name: m{i}, model: \"ref('entity_customers')\", calculation_method: count}}\n" for i in range(6000)
    )
    r = httpx.post(f"{capped}/impact", json={"files": {"metrics/many.yml": "version: 2\nmetrics:\n" + metrics}})
    assert r.status_code == 413 and r.headers["content-type"].startswith("application/problem+json")
    two = two_changes(read_definition_files(Path(__file__).resolve().parents[2]))
    changed = {k: v for k, v in two.items() if k in ("metrics/subscriptions.yml", "metrics/revenue.yml")}
    r = httpx.post(f"{capped}/impact", json={"files": changed}, timeout=60)
    assert r.status_code == 413 and "TAPFLOW_IMPACT_MAX_CHANGES" in r.json()["detail"]
