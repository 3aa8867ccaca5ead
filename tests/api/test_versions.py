"""The metric registry: served versions recorded, in-place changes detected at start-up."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

from app.api.main import create_app
from app.settings import Settings
from tests.api.conftest import app_client
from tests.unit.test_changes import edit_metric


def test_in_place_change_is_detected_and_reported(project_copy: Path, demo_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "registry.duckdb"
    shutil.copy(demo_db, db)
    settings = Settings(database=db, project_dir=project_copy, now=datetime(2026, 11, 1))
    with app_client(create_app(settings)) as client:
        assert not [w for w in client.get("/health").json()["warnings"] if "changed in place" in w]
        first = client.get("/metrics/mrr/versions").json()["versions"]
        assert [v["version"] for v in first] == [1] and first[0]["first_deployed"].startswith("2026-11-01")

    revenue = project_copy / "metrics" / "revenue.yml"
    files = {"r": revenue.read_text()}
    edit_metric(files, "r", "mrr", "expression: monthly_recurring_revenue", "expression: annual_recurring_revenue / 12")
    edit_metric(files, "r", "arr", "label: ARR", "label: Annual recurring revenue")
    revenue.write_text(files["r"])

    later = Settings(database=db, project_dir=project_copy, now=datetime(2026, 11, 20))
    with app_client(create_app(later)) as client:
        warnings = client.get("/health").json()["warnings"]
        mrr_warning = next(w for w in warnings if w.startswith("Metric 'mrr' version 1 was changed in place"))
        assert "a breaking change: expression changed" in mrr_warning
        assert any(
            w.startswith("Metric 'arr' version 1 was changed in place (a change: label changed)") for w in warnings
        )
        body = client.get("/metrics/mrr/versions").json()
        assert body["warnings"] == [mrr_warning]
        history = body["versions"][0]["changed_in_place"]
        assert history and history[0]["classification"] == "breaking" and history[0]["at"].startswith("2026-11-20")
        assert body["versions"][0]["first_deployed"].startswith("2026-11-20")  # this hash's first deployment


def test_versions_changelog_between_served_versions(client) -> None:
    body = client.get("/metrics/customer_lifetime_value/versions").json()
    assert [v["version"] for v in body["versions"]] == [1, 2] and body["current_version"] == 2
    v1, v2 = body["versions"]
    assert v1["sunset_date"] == "2027-03-31" and v1["current"] is False and v2["current"] is True
    diff = v2["diff_to_previous"]
    assert diff["classification"] == "breaking"
    fields = {f["field"]: f for f in diff["fields"]}
    assert (
        fields["table"]["old"] == "legacy.customer_facts" and fields["table"]["new"] == "entity.entity_customers_daily"
    )
    assert "dimension 'tier' removed" in diff["reasons"]
