"""Semi-additive metrics with where: each period's snapshot is chosen before the query's filters."""

from __future__ import annotations

HAND = """
    WITH rows AS (
        SELECT date_trunc('quarter', d.snapshot_date)::DATE AS q, d.*, c.country  -- country: the current table
        FROM entity.entity_customers_daily d JOIN entity.entity_customers c USING (customer_id)
        WHERE d.customer_status = 'active' AND d.snapshot_date BETWEEN DATE '2024-01-01' AND DATE '2025-12-31'
    ),
    last AS (SELECT q, max(snapshot_date) AS d FROM rows {scope} GROUP BY q)
    SELECT rows.q, country, customer_tier, customer_segment, sum(monthly_recurring_revenue)
    FROM rows JOIN last ON rows.q = last.q AND snapshot_date = last.d
    GROUP BY ALL
"""


def answers(oracle, scope: str) -> dict[tuple, float]:
    return {(q.isoformat(), *k): float(v) for q, *k, v in oracle.execute(HAND.format(scope=scope)).fetchall()}


def test_a_where_answer_equals_the_matching_rows_of_the_grouped_answer(client, oracle) -> None:
    right = answers(oracle, "")
    groups = sorted({k[1:] for k in right})
    params = {"grain": "quarter", "start": "2024-01-01", "end": "2025-12-31"}
    grouped = client.get(
        "/metrics/mrr", params=params | {"dimensions": "country,customer_tier,customer_segment", "limit": 100000}
    ).json()["rows"]
    by_group = {(r["period"], r["country"], r["customer_tier"], r["customer_segment"]): r["mrr"] for r in grouped}
    assert by_group == right  # the grouped answer against hand SQL
    discriminating = 0
    for country, tier, segment in groups[:: max(1, len(groups) // 12)]:
        where = f"country = '{country}' AND customer_tier = '{tier}' AND customer_segment = '{segment}'"
        rows = client.get("/metrics/mrr", params=params | {"where": where}).json()["rows"]
        got = {r["period"]: r["mrr"] for r in rows}
        expected = {k[0]: v for k, v in right.items() if k[1:] == (country, tier, segment)}
        assert got == expected, where
        scoped = answers(
            oracle,
            f"WHERE country = '{country}' AND customer_tier = '{tier}' AND customer_segment = '{segment}'",
        )
        # the old rule (the snapshot chosen after filtering) differs for a group that left mid-quarter
        discriminating += {k[0]: v for k, v in scoped.items() if k[1:] == (country, tier, segment)} != expected
    assert discriminating, "no tested group left its tier mid-quarter: this test would not catch the old rule"
