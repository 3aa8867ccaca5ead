"""compare_to=same_days (DESIGN 4/14): a partial period is compared with the same days of its prior.

Oracles: hand-written SQL over the demo tables (the day ranges written out by hand), and the
invariant that whole periods compare the same either way. The demo's data ends on 2026-10-31.
"""

from __future__ import annotations

import pytest

ACTIONS = """
    SELECT sum(actions_taken) FROM staging.stg_app__user_activities
    WHERE activity_timestamp >= ? AND activity_timestamp < ?
"""
NEW_MRR = "SELECT sum(new_mrr) FROM entity.entity_subscriptions_monthly WHERE month_start >= ? AND month_start < ?"
SNAPSHOT = """
    SELECT customer_tier, sum(monthly_recurring_revenue), count(DISTINCT customer_id)
    FROM entity.entity_customers_daily
    WHERE customer_status = 'active' AND snapshot_date = (
        SELECT max(snapshot_date) FROM entity.entity_customers_daily WHERE snapshot_date >= ? AND snapshot_date < ?)
    GROUP BY ALL
"""


def one(oracle, sql: str, *params: str) -> float | None:
    value = oracle.execute(sql, list(params)).fetchone()[0]
    return None if value is None else float(value)


def rows_by_period(r) -> dict[str, dict]:
    assert r.status_code == 200, r.text
    return {row["period"]: row for row in r.json()["rows"]}


def test_the_demo_data_ends_on_the_last_day_of_october(oracle) -> None:
    """The premise of the tests below (the quarter of October 2026 holds one month of data)."""
    assert str(oracle.execute("SELECT max(month_start) FROM entity.entity_subscriptions_monthly").fetchone()[0]) == (
        "2026-10-01"
    )
    assert str(oracle.execute("SELECT max(snapshot_date) FROM entity.entity_customers_daily").fetchone()[0]) == (
        "2026-10-31"
    )


def test_a_quarter_past_the_end_of_the_data_compares_with_the_same_month(client, oracle) -> None:
    params = {"grain": "quarter", "start": "2026-01-01", "compare": "prior_period"}
    whole = client.get("/metrics/new_mrr", params=params)
    same = client.get("/metrics/new_mrr", params=params | {"compare_to": "same_days"})
    q4 = rows_by_period(same)["2026-10-01"]
    assert q4["new_mrr"] == one(oracle, NEW_MRR, "2026-10-01", "2026-11-01")
    assert q4["new_mrr_prior"] == one(oracle, NEW_MRR, "2026-07-01", "2026-08-01")  # July only
    assert q4["new_mrr_change"] == q4["new_mrr"] - q4["new_mrr_prior"]
    assert rows_by_period(whole)["2026-10-01"]["new_mrr_prior"] == one(oracle, NEW_MRR, "2026-07-01", "2026-10-01")
    # the whole quarters before it compare the same either way
    for p in ("2026-01-01", "2026-04-01", "2026-07-01"):
        assert rows_by_period(same)[p] == rows_by_period(whole)[p]
    partial = [{"period": "2026-10-01", "partial": True, "from": "2026-10-01", "until": "2026-11-01"}]
    assert whole.json()["meta"]["partial_periods"] == partial == same.json()["meta"]["partial_periods"]
    (warning,) = [w for w in whole.json()["meta"]["warnings"] if "same_days" in w]
    assert "2026-10-01 (2026-10-01 to 2026-11-01)" in warning
    assert not [w for w in same.json()["meta"]["warnings"] if "same_days" in w]


@pytest.mark.parametrize(
    ("compare", "priors"),
    [
        # September from the 15th and October to the 20th: the same days one month back
        ("prior_period", {"2026-09-01": ("2026-08-15", "2026-09-01"), "2026-10-01": ("2026-09-01", "2026-09-21")}),
        ("prior_year", {"2026-09-01": ("2025-09-15", "2025-10-01"), "2026-10-01": ("2025-10-01", "2025-10-21")}),
    ],
)
def test_cut_months_compare_the_same_days(client, oracle, compare, priors) -> None:
    params = {"grain": "month", "start": "2026-09-15", "end": "2026-10-20", "compare": compare}
    rows = rows_by_period(client.get("/metrics/actions", params=params | {"compare_to": "same_days"}))
    assert sorted(rows) == sorted(priors)
    for period, (lo, hi) in priors.items():
        assert rows[period]["actions_prior"] == one(oracle, ACTIONS, lo, hi), period
    assert rows["2026-09-01"]["actions"] == one(oracle, ACTIONS, "2026-09-15", "2026-10-01")


def test_a_timestamp_end_compares_up_to_the_same_instant(client, oracle) -> None:
    params = {"grain": "day", "start": "2026-10-20", "end": "2026-10-20T11:59:59", "compare": "prior_period"}
    (row,) = client.get("/metrics/actions", params=params | {"compare_to": "same_days"}).json()["rows"]
    assert row["actions"] == one(oracle, ACTIONS, "2026-10-20", "2026-10-20 12:00:00")
    assert row["actions_prior"] == one(oracle, ACTIONS, "2026-10-19", "2026-10-19 12:00:00")


def test_a_snapshot_metric_compares_the_snapshot_of_the_same_day(client, oracle) -> None:
    """MRR of a quarter holding October only: its prior is the MRR of 31 July, not of 30 September."""
    params = {"grain": "quarter", "start": "2026-07-01", "compare": "prior_period", "compare_to": "same_days"}
    params |= {"dimensions": "customer_tier"}
    rows = client.get("/metrics/mrr,arpa", params=params).json()["rows"]
    july = {tier: (float(mrr), n) for tier, mrr, n in oracle.execute(SNAPSHOT, ["2026-07-01", "2026-08-01"]).fetchall()}
    q4 = [row for row in rows if row["period"] == "2026-10-01"]
    assert {row["customer_tier"]: row["mrr_prior"] for row in q4} == {t: v[0] for t, v in july.items()}
    for row in q4:  # the ratio's prior is the ratio of its parts' priors
        mrr, customers = july[row["customer_tier"]]
        assert row["arpa_prior"] == pytest.approx(mrr / customers)


def test_fill_feeds_the_same_days_prior(client, oracle) -> None:
    params = {"grain": "month", "start": "2024-01-15", "end": "2024-04-10", "compare": "prior_period"}
    params |= {"compare_to": "same_days", "fill": "zero", "dimensions": "product_line"}
    params |= {"where": "product_line = 'security'"}
    rows = rows_by_period(client.get("/metrics/new_mrr", params=params))
    assert sorted(rows) == ["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01"]
    by_month = dict(
        oracle.execute(
            "SELECT strftime(month_start, '%Y-%m-%d'), sum(new_mrr)::DOUBLE FROM entity.entity_subscriptions_monthly "
            "WHERE product_line = 'security' GROUP BY ALL"
        ).fetchall()
    )
    # monthly rows sit on the 1st: a month cut after its 1st has no row, and neither has its prior's same days
    assert rows["2024-01-01"]["new_mrr"] == 0 and rows["2024-01-01"]["new_mrr_prior"] == 0
    assert rows["2024-02-01"]["new_mrr_prior"] == 0  # January from the 15th holds no month_start
    for month, prior in (("2024-03-01", "2024-02-01"), ("2024-04-01", "2024-03-01")):
        assert rows[month]["new_mrr"] == by_month.get(month, 0)
        assert rows[month]["new_mrr_prior"] == by_month.get(prior, 0)


def test_same_days_needs_compare_and_refuses_window_metrics(client) -> None:
    r = client.get("/metrics/mrr", params={"grain": "month", "compare_to": "same_days"})
    assert r.status_code == 400 and "needs compare" in r.json()["detail"]
    r = client.get("/metrics/mrr", params={"grain": "month", "compare": "prior_year", "compare_to": "some_days"})
    assert r.status_code == 400 and "same_days" in r.text
    params = {"grain": "month", "compare": "prior_period", "compare_to": "same_days"}
    r = client.get("/metrics/new_mrr_rolling_3m", params=params)
    assert r.status_code == 400 and "window" in r.json()["detail"]
    assert r.headers["content-type"].startswith("application/problem+json")


def test_post_takes_compare_to(client, oracle) -> None:
    body = {"metrics": ["new_mrr"], "grain": "quarter", "start": "2026-07-01", "compare": "prior_year"}
    rows = client.post("/query", json=body | {"compare_to": "same_days"}).json()["rows"]
    q4 = [row for row in rows if row["period"] == "2026-10-01"][0]
    assert q4["new_mrr_prior"] == one(oracle, NEW_MRR, "2025-10-01", "2025-11-01")
