"""Impact classification and verdicts, table-driven over edits of the shipped definitions."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest

from app.definitions.loader import load_texts, read_definition_files
from app.governance.impact import analyze

EXTRA = """\
version: 2
metrics:
  - name: customer_count
    model: ref('entity_customers')
    calculation_method: count_distinct
    expression: customer_id
    dimensions: [customer_tier]
  - name: signups
    model: ref('entity_customers')
    calculation_method: count_distinct
    expression: customer_id
    timestamp: signup_date
    time_grains: [month]
  - name: new_mrr_of_recent_cohorts
    model: ref('entity_subscriptions_monthly')
    calculation_method: sum
    expression: new_mrr
    timestamp: month_start
    time_grains: [month]
    filters: [{field: customer.signup_cohort, operator: '>=', value: "DATE '2025-01-01'"}]
"""


def edit_metric(files: dict[str, str], path: str, metric: str, old: str, new: str) -> None:
    text = files[path]
    start = text.index(f"  - name: {metric}\n")
    end = text.find("\n  - name:", start + 1)
    end = len(text) if end < 0 else end
    block = text[start:end]
    assert old in block, f"{old!r} not in {metric}"
    files[path] = text[:start] + block.replace(old, new, 1) + text[end:]


def drop_metric(files: dict[str, str], path: str, metric: str) -> None:
    text = files[path]
    start = text.index(f"  - name: {metric}\n")
    end = text.find("\n  - name:", start + 1)
    files[path] = text[:start] + (text[end + 1 :] if end >= 0 else "")


def edit(path: str, metric: str, old: str, new: str):
    return lambda f: edit_metric(f, path, metric, old, new)


def sub(path: str, old: str, new: str):
    def apply(f):
        assert old in f[path], old
        f[path] = f[path].replace(old, new, 1)

    return apply


REV, SUBS, ENG, TEAMS, DEV, CUST = (
    "metrics/revenue.yml",
    "metrics/subscriptions.yml",
    "metrics/engagement.yml",
    "metrics/teams.yml",
    "metrics/devices.yml",
    "entities/customers.yml",
)
X = "metrics/zz_extra.yml"

# (id, edit, {metric or entity:name: (status, classification)}, verdict)
CASES = [
    (
        "calculation_method",
        edit(SUBS, "new_mrr", "calculation_method: sum", "calculation_method: max"),
        {"new_mrr": ("changed", "breaking"), "net_new_mrr": ("changed", "breaking_indirect")},
        "fail",
    ),
    (
        "expression",
        edit(REV, "mrr", "expression: monthly_recurring_revenue", "expression: annual_recurring_revenue / 12"),
        {"mrr": ("changed", "breaking"), "arpa": ("changed", "breaking_indirect")},
        "fail",
    ),
    (
        "model_to_another_table",
        edit(X, "customer_count", "ref('entity_customers')", "ref('entity_customers_history')"),
        {"customer_count": ("changed", "breaking")},
        "fail",
    ),
    (
        "model_same_table_is_metadata",
        edit(REV, "monthly_recurring_revenue", "model: ref('entity_customers')", "entity: customers"),
        {"monthly_recurring_revenue": ("changed", "metadata")},
        "pass",
    ),
    (
        "timestamp",
        edit(X, "signups", "timestamp: signup_date", "timestamp: churn_date"),
        {"signups": ("changed", "breaking")},
        "fail",
    ),
    (
        "filters",
        edit(REV, "arr", "value: \"'active'\"", "value: \"'inactive'\""),
        {"arr": ("changed", "breaking")},
        "fail",
    ),
    (
        "window",
        edit(SUBS, "new_mrr_rolling_3m", "count: 3", "count: 6"),
        {"new_mrr_rolling_3m": ("changed", "breaking")},
        "fail",
    ),
    (
        "non_additive_dimension",
        edit(REV, "mrr", "window_choice: max", "window_choice: min"),
        {"mrr": ("changed", "breaking"), "arpa": ("changed", "breaking_indirect")},
        "fail",
    ),
    (
        "dimension_removed",
        edit(REV, "mrr", "sales_region, country, signup_cohort]", "sales_region, signup_cohort]"),
        {"mrr": ("changed", "breaking")},
        "fail",
    ),
    (
        "dimension_added",
        edit(SUBS, "new_mrr", "customer.signup_cohort]", "customer.signup_cohort, customer.country]"),
        {"new_mrr": ("changed", "non_breaking")},
        "pass",
    ),
    (
        "grain_removed",
        edit(REV, "mrr", "time_grains: [day, week, month, quarter, year]", "time_grains: [day, month, quarter, year]"),
        {"mrr": ("changed", "breaking")},
        "fail",
    ),
    (
        "grain_added",
        edit(SUBS, "new_mrr_rolling_3m", "time_grains: [month]", "time_grains: [month, quarter]"),
        {"new_mrr_rolling_3m": ("changed", "non_breaking")},
        "pass",
    ),
    (
        "metric_added",
        lambda f: f.__setitem__(
            "metrics/zz_new.yml",
            EXTRA.replace("customer_count", "accounts")
            .replace("signups", "new_accounts")
            .replace("new_mrr_of_recent_cohorts", "new_mrr_of_the_cohorts"),
        ),
        {"accounts": ("added", "non_breaking"), "new_accounts": ("added", "non_breaking")},
        "pass",
    ),
    ("metric_removed", lambda f: drop_metric(f, TEAMS, "team_size"), {"team_size": ("removed", "breaking")}, "pass"),
    ("metric_removed_under_a_derived_metric", lambda f: drop_metric(f, ENG, "sessions"), {}, "fail"),
    (
        "metric_renamed",  # (a metric a pre-aggregation holds is renamed there too, or the proposal is invalid)
        edit(ENG, "daily_active_users", "name: daily_active_users", "name: users_active_daily"),
        {"daily_active_users": ("renamed", "breaking")},
        "pass",
    ),
    (
        "label_only",
        edit(REV, "mrr", "label: MRR", "label: Monthly recurring revenue"),
        {"mrr": ("changed", "metadata")},
        "pass",
    ),
    (
        "description_only",
        edit(ENG, "sessions", "description: Distinct app sessions.", "description: App sessions."),
        {"sessions": ("changed", "metadata")},
        "pass",
    ),
    (
        "owner_only",
        edit(DEV, "device_errors", "owner: iot_team", "owner: platform_team"),
        {"device_errors": ("changed", "metadata")},
        "pass",
    ),
    (
        "deprecation_added",
        edit(
            TEAMS,
            "team_member_days",
            "meta: {owner: product_analytics}",
            "deprecation: {deprecated_at: 2026-12-01, sunset_date: 2027-06-01, replaced_by: team_size}\n"
            "    meta: {owner: product_analytics}",
        ),
        {"team_member_days": ("changed", "metadata")},
        "pass",
    ),
    (
        "entity_column_removed_under_a_metric",
        sub(
            CUST,
            '      - {name: lifetime_revenue, type: number, description: "Earlier months at month-end MRR plus this snapshot\'s MRR"}\n',
            "",
        ),
        {"customer_lifetime_value": ("changed", "breaking"), "entity:customers": ("changed", "breaking")},
        "fail",
    ),
    (
        "computed_dimension_changed",
        sub(CUST, "cast(date_trunc('month', signup_date) as date)", "cast(date_trunc('quarter', signup_date) as date)"),
        {
            "entity:customers": ("changed", "breaking"),
            "mrr": ("changed", "breaking"),
            "new_mrr": ("changed", "breaking"),
            "new_mrr_of_recent_cohorts": ("changed", "breaking"),  # through its filter
        },
        "fail",
    ),
    (
        "relationship_removed_invalidates",
        sub("entities/users.yml", "      - {name: team, entity: teams, type: many_to_one, foreign_key: team_id}\n", ""),
        {},
        "fail",
    ),
    (
        "primary_key_changed",
        sub("entities/locations.yml", "primary_key: location_id", "primary_key: customer_id"),
        {"entity:locations": ("changed", "breaking"), "device_events": ("changed", "breaking")},
        "fail",
    ),
    (
        "derived_expression",
        edit(REV, "arpa", "{{ metric('mrr') }}", "{{ metric('arr') }}"),
        {"arpa": ("changed", "breaking")},
        "fail",
    ),
    (
        "derived_indirectly_broken",
        edit(ENG, "actions", "expression: actions_taken", "expression: actions_taken * 2"),
        {"actions": ("changed", "breaking"), "actions_per_session": ("changed", "breaking_indirect")},
        "fail",
    ),
    (
        "version_bump_turns_fail_into_pass",
        edit(
            ENG,
            "actions",
            "expression: actions_taken\n",
            "expression: actions_taken * 2\n    version: 2\n"
            "    previous_versions:\n      - {version: 1, expression: actions_taken}\n",
        ),
        {"actions": ("changed", "breaking"), "actions_per_session": ("changed", "breaking_indirect")},
        "pass",
    ),
    (
        "whitespace_in_sql_is_no_change",
        edit(DEV, "device_uptime_pct", "uptime_seconds / 36.0", "uptime_seconds/36.0"),
        {},
        "pass",
    ),
    ("invalid_proposal", edit(REV, "mrr", "calculation_method: sum", "calculation_method: total"), {}, "fail"),
]


@pytest.fixture(scope="module")
def base_files(root: Path) -> dict[str, str]:
    files = read_definition_files(root)
    files[X] = EXTRA
    return files


@pytest.fixture(scope="module")
def old_project(base_files, catalog):
    return load_texts(base_files, catalog)


@pytest.mark.parametrize(("case", "change", "expected", "verdict"), CASES, ids=[c[0] for c in CASES])
def test_classification_and_verdict(case, change, expected, verdict, base_files, old_project, catalog, root) -> None:
    files = dict(base_files)
    change(files)
    report = analyze(old_project, files, catalog=catalog, con=None, now=datetime(2026, 11, 26), timeout_s=5, base=root)
    got = {
        (i.change.name if i.change.kind == "metric" else f"entity:{i.change.name}"): (
            i.change.status,
            i.change.classification,
        )
        for i in report.items
    }
    for name, want in expected.items():
        assert got.get(name) == want, (name, got, report.reasons, report.problems[:3])
    if not expected and verdict == "pass":
        assert got == {}, got
    assert report.verdict == verdict, (report.reasons, report.problems[:3])
    if case.endswith("invalidates") or case in ("invalid_proposal", "metric_removed_under_a_derived_metric"):
        assert report.problems and all(re.match(r"^(metrics|entities)/", p["file"]) for p in report.problems)
