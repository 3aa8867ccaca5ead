"""The definitions loader: the shipped project, the governance example, and the broken corpus."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from app.definitions.loader import load_project, load_texts, read_definition_files
from app.errors import DefinitionError
from tests.seed_example import GOVERNANCE_EXAMPLE

BROKEN = Path(__file__).resolve().parents[1] / "broken"
CASES = sorted(BROKEN.glob("*.yml"))
EXPECT = re.compile(r"^# expect: (\d+) (.+)$", re.MULTILINE)


def test_shipped_definitions_load_against_the_catalog(root: Path, catalog) -> None:
    project = load_project(root, catalog)
    assert {"customers", "subscriptions", "users", "teams", "devices", "locations"} <= set(project.entities)
    required = {
        "mrr",
        "monthly_recurring_revenue",
        "arr",
        "new_mrr",
        "expansion_mrr",
        "contraction_mrr",
        "churned_mrr",
        "net_new_mrr",
        "active_customers",
        "arpa",
        "daily_active_users",
        "sessions",
        "actions_per_session",
        "team_size",
        "active_user_percentage",
        "feature_adoption_score",
        "collaboration_index",
        "team_health_score",
    }
    assert required <= set(project.metrics)
    # three metrics were built on legacy.customer_facts: two are deprecated for replacements,
    # one moved to the customers entity as version 2 (version 1 still served until the sunset)
    legacy = [m for m in project.metrics.values() if m.table and m.table.name == "legacy.customer_facts"]
    assert {m.name for m in legacy} == {"arr_by_customer", "legacy_paying_customers"}
    assert all(m.spec.deprecation and m.spec.deprecation.replaced_by for m in legacy)
    clv = project.metric("customer_lifetime_value")
    assert clv.version == 2 and clv.table.name == "entity.entity_customers_daily"
    assert project.metric("customer_lifetime_value", 1).table.name == "legacy.customer_facts"
    hourly = [m for m in project.metrics.values() if m.table and m.table.name == "entity.entity_devices_hourly"]
    assert hourly and all("hour" in m.grains for m in hourly)


def test_shipped_definitions_load_without_a_database(root: Path, catalog) -> None:
    assert load_project(root).hash == load_project(root, catalog).hash


def test_governance_example_loads_unmodified(root: Path, catalog) -> None:
    files = {k: v for k, v in read_definition_files(root).items() if k.startswith("entities/")}
    files["metrics/revenue_metrics.yml"] = GOVERNANCE_EXAMPLE
    project = load_texts(files, catalog)
    metric = project.metrics["monthly_recurring_revenue"]
    # ref('entity_customers') names the customers entity; its table with snapshot_date answers.
    assert metric.table.name == "entity.entity_customers_daily"
    assert metric.grains == ("day", "week", "month", "quarter", "year")
    # MRR is a balance: the entity declares it semi-additive, so periods take their last snapshot.
    assert metric.spec.non_additive_dimension.name == "snapshot_date"
    assert metric.spec.non_additive_dimension.window_choice == "max"
    # and the shipped project carries the block verbatim
    assert GOVERNANCE_EXAMPLE.split("metrics:\n", 1)[1] in (root / "metrics" / "revenue.yml").read_text()


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_broken_definition_is_reported_with_file_line_and_hint(case: Path, root: Path, tmp_path: Path, catalog) -> None:
    kind = "entities" if case.name.startswith("e") else "metrics"
    for folder in ("metrics", "entities", "docs"):
        shutil.copytree(root / folder, tmp_path / folder)
    target = tmp_path / kind / "zz_broken" / case.name
    target.parent.mkdir()
    shutil.copy(case, target)
    rel = f"{kind}/zz_broken/{case.name}"

    with pytest.raises(DefinitionError) as info:
        load_project(tmp_path, catalog)

    problems = info.value.errors
    mine = [p for p in problems if p["file"] == rel]
    others = [p for p in problems if p["file"] != rel]
    assert not others, f"problems outside the broken file: {others}"
    expected = EXPECT.findall(case.read_text())
    assert expected, "each case declares what it expects"
    for line, text in expected:
        hits = [p for p in mine if p["line"] == int(line) and text in p["message"]]
        assert hits, f"expected line {line}: {text!r}; got:\n" + "\n".join(
            f"{p['line']}: {p['key']}: {p['message']}" for p in mine
        )
    for p in mine:
        assert p["key"] and p["message"]


def test_every_problem_of_a_file_comes_at_once(root: Path, tmp_path: Path, catalog) -> None:
    case = BROKEN / "m24_many_problems.yml"
    files = read_definition_files(root)
    files["metrics/zz.yml"] = case.read_text()
    with pytest.raises(DefinitionError) as info:
        load_texts(files, catalog)
    assert len([p for p in info.value.errors if p["file"] == "metrics/zz.yml"]) >= 5


def test_problem_text_names_file_and_line(root: Path, catalog) -> None:
    files = read_definition_files(root)
    files["metrics/zz.yml"] = (BROKEN / "m06_unknown_dimension.yml").read_text()
    with pytest.raises(DefinitionError) as info:
        load_texts(files, catalog)
    assert "metrics/zz.yml:11: metrics.mrr_dims.dimensions[0]: unknown dimension 'custmer_tier'" in info.value.detail


def test_unknown_metric_lookup_suggests(root: Path) -> None:
    from app.errors import UnknownMetric

    project = load_project(root)
    with pytest.raises(UnknownMetric, match=r"Did you mean 'mrr'"):
        project.metric("mrrr")
