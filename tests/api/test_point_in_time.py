"""Point-in-time joins (issue 11, point 9): a joined dimension takes the value valid at the metric row's
time where the related entity has an SCD type 2 history; ``@current`` asks for today's value.

Oracles: hand-written SQL joining the history tables (valid_from inclusive, valid_to exclusive), and
invariants (subscription MRR by the customer's tier equals MRR by the tier on the daily snapshot; a
breakdown sums to the total).
"""

from __future__ import annotations

import pytest

SUBSCRIPTIONS_AS_OF_MONTH_END = """
    SELECT h.customer_tier, sum(s.mrr)::DOUBLE
    FROM entity.entity_subscriptions_monthly s
    LEFT JOIN entity.entity_customers_history h
      ON h.customer_id = s.customer_id
     AND h.valid_from < s.month_start + INTERVAL 1 MONTH
     AND (h.valid_to IS NULL OR h.valid_to >= s.month_start + INTERVAL 1 MONTH)
    WHERE s.month_start = DATE '2024-12-01'
    GROUP BY ALL
"""
SUBSCRIPTIONS_TODAY = """
    SELECT c.customer_tier, sum(s.mrr)::DOUBLE
    FROM entity.entity_subscriptions_monthly s LEFT JOIN entity.entity_customers c USING (customer_id)
    WHERE s.month_start = DATE '2024-12-01'
    GROUP BY ALL
"""
ACTIONS_AS_OF_EACH_EVENT = """
    SELECT ch.sales_region, th.team_type, sum(a.actions_taken)::DOUBLE
    FROM staging.stg_app__user_activities a
    LEFT JOIN entity.entity_users u ON u.user_id = a.user_id
    LEFT JOIN entity.entity_teams_history th
      ON th.team_id = u.team_id AND th.valid_from <= a.activity_timestamp
     AND (th.valid_to IS NULL OR a.activity_timestamp < th.valid_to)
    LEFT JOIN entity.entity_customers_history ch
      ON ch.customer_id = th.customer_id AND ch.valid_from <= a.activity_timestamp
     AND (ch.valid_to IS NULL OR a.activity_timestamp < ch.valid_to)
    WHERE a.activity_timestamp >= TIMESTAMP '2025-09-01' AND a.activity_timestamp < TIMESTAMP '2025-10-01'
    GROUP BY ALL
"""


def by(rows: list[dict], *keys: str, value: str) -> dict:
    return {tuple(row[k] for k in keys) if len(keys) > 1 else row[keys[0]]: row[value] for row in rows}


def data(client, metric: str, **params) -> list[dict]:
    r = client.get(f"/metrics/{metric}", params=params)
    assert r.status_code == 200, r.text
    return r.json()["rows"]


def test_history_is_not_restated(client, oracle) -> None:
    """December 2024 by the customer's tier then, not by the tier the customer has today."""
    params = {"grain": "month", "start": "2024-12-01", "end": "2024-12-31"}
    rows = data(client, "subscription_mrr", dimensions="customer.customer_tier", **params)
    expected = dict(oracle.execute(SUBSCRIPTIONS_AS_OF_MONTH_END).fetchall())
    assert by(rows, "customer.customer_tier", value="subscription_mrr") == expected
    today = data(client, "subscription_mrr", dimensions="customer.customer_tier@current", **params)
    assert by(today, "customer.customer_tier@current", value="subscription_mrr") == dict(
        oracle.execute(SUBSCRIPTIONS_TODAY).fetchall()
    )
    assert expected != dict(oracle.execute(SUBSCRIPTIONS_TODAY).fetchall())  # the demo's tiers do change


def test_subscription_mrr_by_tier_equals_mrr_by_the_daily_tier_every_month(client) -> None:
    params = {"grain": "month", "start": "2024-01-01", "end": "2026-10-31"}
    by_history = data(client, "subscription_mrr", dimensions="customer.customer_tier", **params)
    by_snapshot = data(client, "mrr", dimensions="customer_tier", **params)
    assert len(by_snapshot) > 100
    assert by(by_history, "period", "customer.customer_tier", value="subscription_mrr") == pytest.approx(
        by(by_snapshot, "period", "customer_tier", value="mrr")
    )


def test_two_hops_each_as_of_the_event(client, oracle) -> None:
    params = {"grain": "month", "start": "2025-09-01", "end": "2025-09-30"}
    rows = data(client, "actions", dimensions="team.customer.sales_region,team.team_type", **params)
    expected = {(region, kind): v for region, kind, v in oracle.execute(ACTIONS_AS_OF_EACH_EVENT).fetchall()}
    assert by(rows, "team.customer.sales_region", "team.team_type", value="actions") == expected
    (total,) = data(client, "actions", **params)
    assert sum(r["actions"] for r in rows) == total["actions"]


def test_where_reads_the_same_point_in_time_value(client) -> None:
    params = {"grain": "month", "start": "2024-06-01", "end": "2025-06-30"}
    grouped = data(client, "subscription_mrr", dimensions="customer.customer_tier", **params)
    filtered = data(client, "subscription_mrr", where="customer.customer_tier = 'enterprise'", **params)
    assert by(filtered, "period", value="subscription_mrr") == {
        r["period"]: r["subscription_mrr"] for r in grouped if r["customer.customer_tier"] == "enterprise"
    }


def test_current_and_point_in_time_side_by_side_sum_to_the_total(client) -> None:
    params = {"grain": "quarter", "start": "2025-01-01", "end": "2025-12-31"}
    rows = data(client, "new_mrr", dimensions="customer.customer_tier,customer.customer_tier@current", **params)
    assert any(r["customer.customer_tier"] != r["customer.customer_tier@current"] for r in rows)
    totals = by(data(client, "new_mrr", **params), "period", value="new_mrr")
    for period, total in totals.items():
        assert sum(r["new_mrr"] for r in rows if r["period"] == period) == pytest.approx(total)


def test_bad_as_of_suffixes_are_clear_errors(client) -> None:
    r = client.get("/metrics/subscription_mrr", params={"dimensions": "customer.customer_tier@yesterday"})
    assert r.status_code == 400 and "@current" in r.json()["detail"]
    r = client.get("/metrics/subscription_mrr", params={"dimensions": "product_line@current"})
    assert r.status_code == 400 and "own table" in r.json()["detail"]


def test_lineage_shows_the_history_table_a_joined_dimension_reads(client) -> None:
    upstream = {n["name"] for n in client.get("/lineage/subscription_mrr").json()["upstream"]}
    assert "entity.entity_customers_history" in upstream
    edges = client.get("/lineage/mrr").json()["edges"]
    reading = {(e["source"], e["kind"]) for e in edges if e["target"] == "metric:mrr"}
    # its tier is a column of its own daily table: the history only builds that table, mrr never joins it
    assert ("table:entity.entity_customers_history", "joins") not in reading
    assert ("table:entity.entity_customers_daily", "reads") in reading
