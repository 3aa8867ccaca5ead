"""Metric numbers checked against independent hand-written SQL and invariants (never the compiler)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlglot

from app.compiler.sql import DIALECTS


def rows(client, url: str, **params) -> list[dict]:
    response = client.get(url, params=params)
    assert response.status_code == 200, response.text
    return response.json()["rows"]


def by_period(items: list[dict], metric: str) -> dict[str, float]:
    return {r["period"]: r[metric] for r in items}


def oracle_map(oracle, sql: str) -> dict:
    return {str(k): (float(v) if v is not None else None) for k, v in oracle.execute(sql).fetchall()}


MRR_BY_MONTH = """
    WITH active AS (SELECT * FROM entity.entity_customers_daily WHERE customer_status = 'active'),
    last_day AS (SELECT date_trunc('month', snapshot_date)::DATE AS m, max(snapshot_date) AS d FROM active GROUP BY 1)
    SELECT l.m, sum(a.monthly_recurring_revenue) FROM last_day l JOIN active a ON a.snapshot_date = l.d
    GROUP BY 1 ORDER BY 1
"""


def test_mrr_by_month_matches_hand_written_sql(client, oracle) -> None:
    got = by_period(rows(client, "/metrics/mrr", grain="month"), "mrr")
    expected = oracle_map(oracle, MRR_BY_MONTH)
    assert len(got) >= 30
    assert got == pytest.approx(expected)


def test_mrr_by_month_equals_subscription_mrr_from_another_table(client, oracle) -> None:
    got = by_period(rows(client, "/metrics/mrr", grain="month"), "mrr")
    subs = oracle_map(oracle, "SELECT month_start, sum(mrr) FROM entity.entity_subscriptions_monthly GROUP BY 1")
    assert got == pytest.approx(subs)


def test_mrr_by_quarter_is_the_last_month_of_the_quarter(client) -> None:
    monthly = by_period(rows(client, "/metrics/mrr", grain="month"), "mrr")
    quarterly = by_period(rows(client, "/metrics/mrr", grain="quarter"), "mrr")
    for quarter, value in quarterly.items():
        y, m = int(quarter[:4]), int(quarter[5:7])
        last_month = max(p for p in monthly if int(p[:4]) == y and m <= int(p[5:7]) <= m + 2)
        assert value == pytest.approx(monthly[last_month]), quarter
    # never the sum of the days: the quarter is far below 90 daily snapshots
    assert quarterly["2025-04-01"] < 2 * monthly["2025-06-01"]


def test_semi_additive_with_a_dimension(client) -> None:
    monthly = rows(client, "/metrics/mrr", grain="month", dimensions="customer_tier")
    yearly = rows(client, "/metrics/mrr", grain="year", dimensions="customer_tier")
    dec = {r["customer_tier"]: r["mrr"] for r in monthly if r["period"] == "2025-12-01"}
    y2025 = {r["customer_tier"]: r["mrr"] for r in yearly if r["period"] == "2025-01-01"}
    assert y2025 == pytest.approx(dec)


def test_breakdown_sums_to_total_for_additive_metrics(client) -> None:
    total = by_period(rows(client, "/metrics/new_mrr", grain="month"), "new_mrr")
    parts: dict[str, float] = {}
    for r in rows(client, "/metrics/new_mrr", grain="month", dimensions="product_line"):
        parts[r["period"]] = parts.get(r["period"], 0) + r["new_mrr"]
    assert parts == pytest.approx(total)
    actions = rows(client, "/metrics/actions")[0]["actions"]
    by_feature = sum(r["actions"] for r in rows(client, "/metrics/actions", dimensions="feature"))
    assert by_feature == pytest.approx(actions)


def test_two_hop_joined_dimension(client, oracle) -> None:
    got = {
        (r["period"], r["team.customer.sales_region"]): r["daily_active_users"]
        for r in rows(client, "/metrics/daily_active_users", grain="month", dimensions="team.customer.sales_region")
    }
    expected = {
        (str(p), region): float(n)
        for p, region, n in oracle.execute(
            """
            SELECT date_trunc('month', a.activity_timestamp)::DATE, c.sales_region, count(DISTINCT a.user_id)
            FROM staging.stg_app__user_activities a
            LEFT JOIN entity.entity_users u ON u.user_id = a.user_id
            LEFT JOIN entity.entity_teams_history t ON t.team_id = u.team_id
             AND t.valid_from <= a.activity_timestamp AND (t.valid_to IS NULL OR a.activity_timestamp < t.valid_to)
            LEFT JOIN entity.entity_customers_history c ON c.customer_id = t.customer_id
             AND c.valid_from <= a.activity_timestamp AND (c.valid_to IS NULL OR a.activity_timestamp < c.valid_to)
            GROUP BY 1, 2
            """
        ).fetchall()
    }
    assert got == pytest.approx(expected)


def test_derived_ratio_equals_ratio_of_its_parts(client) -> None:
    body = client.post("/query", json={"metrics": ["arpa", "mrr", "active_customers"], "grain": "month"}).json()
    assert body["rows"]
    for r in body["rows"]:
        assert r["arpa"] == pytest.approx(r["mrr"] / r["active_customers"])


def test_derived_across_tables_net_new_mrr_is_the_change_in_mrr(client) -> None:
    net = by_period(rows(client, "/metrics/net_new_mrr", grain="month"), "net_new_mrr")
    mrr = by_period(rows(client, "/metrics/subscription_mrr", grain="month"), "subscription_mrr")
    months = sorted(mrr)
    for prev, cur in zip(months, months[1:], strict=False):
        assert net[cur] == pytest.approx(mrr[cur] - mrr[prev]), cur


def test_rolling_three_month_window(client, oracle) -> None:
    got = by_period(
        rows(client, "/metrics/new_mrr_rolling_3m", grain="month", start="2025-01-01"), "new_mrr_rolling_3m"
    )
    expected = oracle_map(
        oracle,
        """
        WITH m AS (SELECT month_start, sum(new_mrr) AS v FROM entity.entity_subscriptions_monthly GROUP BY 1)
        SELECT a.month_start, sum(b.v) FROM m a JOIN m b
          ON b.month_start BETWEEN a.month_start - INTERVAL 2 MONTH AND a.month_start
        WHERE a.month_start >= DATE '2025-01-01' GROUP BY 1
    """,
    )
    assert got == pytest.approx(expected)


def test_compare_prior_year(client) -> None:
    data = rows(client, "/metrics/mrr", grain="month", start="2026-01-01", end="2026-06-30", compare="prior_year")
    plain = by_period(rows(client, "/metrics/mrr", grain="month"), "mrr")
    assert [r["period"] for r in data] == [f"2026-0{m}-01" for m in range(1, 7)]
    for r in data:
        prior = plain["2025" + r["period"][4:]]
        assert r["mrr_prior"] == pytest.approx(prior)
        assert r["mrr_change"] == pytest.approx(r["mrr"] - prior)
        assert r["mrr_change_pct"] == pytest.approx(100 * (r["mrr"] - prior) / prior)


def test_fill_zero_produces_missing_periods(client, oracle) -> None:
    data = rows(client, "/metrics/device_events", grain="day", start="2026-10-10", end="2026-10-31", fill="zero")
    assert [r["period"] for r in data][0] == "2026-10-10" and len(data) == 22
    expected = oracle_map(
        oracle,
        """
        SELECT grain_timestamp::DATE, sum(event_count) FROM entity.entity_devices_hourly GROUP BY 1""",
    )
    for r in data:
        assert r["device_events"] == pytest.approx(expected.get(r["period"], 0.0)), r["period"]
    assert data[0]["device_events"] == 0  # the hourly grain starts 2026-10-18


def test_where_in_like_between_is_null(client, oracle) -> None:
    def total(where: str) -> float:
        return rows(client, "/metrics/mrr", end="2025-12-31", where=where)[0]["mrr"]

    def oracle_total(cond: str) -> float:
        return float(
            oracle.execute(f"""
            SELECT sum(monthly_recurring_revenue)
            FROM (SELECT d.*, c.country FROM entity.entity_customers_daily d
                  LEFT JOIN entity.entity_customers c ON c.customer_id = d.customer_id)
            WHERE customer_status = 'active' AND snapshot_date = DATE '2025-12-31' AND ({cond})""").fetchone()[0]
        )

    assert total("customer_tier IN ('growth', 'enterprise')") == pytest.approx(
        oracle_total("customer_tier IN ('growth', 'enterprise')")
    )
    assert total("sales_region LIKE 'E%' AND NOT customer_segment = 'SMB'") == pytest.approx(
        oracle_total("sales_region = 'EMEA' AND customer_segment <> 'SMB'")
    )
    assert total("country BETWEEN 'AR' AND 'DE'") == pytest.approx(oracle_total("country >= 'AR' AND country <= 'DE'"))
    everything = total("customer_tier IS NOT NULL")
    assert everything == pytest.approx(oracle_total("true"))
    nothing = rows(client, "/metrics/mrr", end="2025-12-31", where="customer_tier IS NULL")
    assert nothing == [] or nothing[0]["mrr"] in (None, 0)


def test_governance_example_answers_like_mrr(client, oracle) -> None:
    got = by_period(rows(client, "/metrics/monthly_recurring_revenue", grain="month"), "monthly_recurring_revenue")
    assert got == pytest.approx(oracle_map(oracle, MRR_BY_MONTH))


def test_multi_metric_query_across_entities(client, oracle) -> None:
    body = client.post(
        "/query",
        json={
            "metrics": ["mrr", "new_mrr", "daily_active_users"],
            "grain": "month",
            "start": "2025-01-01",
            "end": "2025-12-31",
        },
    ).json()
    got = {r["period"]: r for r in body["rows"]}
    assert len(got) == 12
    mrr = oracle_map(oracle, MRR_BY_MONTH)
    new = oracle_map(oracle, "SELECT month_start, sum(new_mrr) FROM entity.entity_subscriptions_monthly GROUP BY 1")
    dau = oracle_map(
        oracle,
        """SELECT date_trunc('month', activity_timestamp)::DATE, count(DISTINCT user_id)
                                FROM staging.stg_app__user_activities GROUP BY 1""",
    )
    for period, r in got.items():
        assert r["mrr"] == pytest.approx(mrr[period])
        assert r["new_mrr"] == pytest.approx(new[period])
        assert r["daily_active_users"] == pytest.approx(dau[period])


def test_hour_grain_on_the_device_table(client, oracle) -> None:
    data = rows(client, "/metrics/device_errors", grain="hour", start="2026-10-31T10:00:00", end="2026-10-31T12:00:00")
    expected = oracle_map(
        oracle,
        """SELECT grain_timestamp, sum(error_count) FROM entity.entity_devices_hourly
        WHERE grain_timestamp BETWEEN TIMESTAMP '2026-10-31 10:00:00' AND TIMESTAMP '2026-10-31 12:00:00' GROUP BY 1""",
    )
    assert {r["period"].replace("T", " "): r["device_errors"] for r in data} == pytest.approx(expected)


def test_start_and_end_are_inclusive_days(client, oracle) -> None:
    got = rows(client, "/metrics/actions", start="2025-03-01", end="2025-03-31")[0]["actions"]
    expected = oracle.execute("""SELECT sum(actions_taken) FROM staging.stg_app__user_activities
        WHERE activity_timestamp >= DATE '2025-03-01' AND activity_timestamp < DATE '2025-04-01'""").fetchone()[0]
    assert got == pytest.approx(float(expected))


@pytest.mark.parametrize("dialect", [d for d in DIALECTS if d != "duckdb"])
def test_other_dialects_parse_back(client, dialect: str) -> None:
    for url, params in (
        ("/metrics/arpa/sql", {"grain": "week", "dimensions": "customer_tier"}),
        (
            "/metrics/daily_active_users/sql",
            {"grain": "month", "dimensions": "team.customer.sales_region", "where": "user_role IN ('admin')"},
        ),
    ):
        response = client.get(url, params={**params, "dialect": dialect})
        assert response.status_code == 200, response.text
        parsed = sqlglot.parse_one(response.text, read=dialect)
        assert parsed.find(sqlglot.exp.Select) is not None


def test_rolling_window_with_compare_prior_year(client) -> None:
    plain = by_period(rows(client, "/metrics/new_mrr_rolling_3m", grain="month"), "new_mrr_rolling_3m")
    compared = rows(client, "/metrics/new_mrr_rolling_3m", grain="month", start="2026-01-01", compare="prior_year")
    assert [r["period"] for r in compared][0] == "2026-01-01"
    for r in compared:
        assert r["new_mrr_rolling_3m"] == pytest.approx(plain[r["period"]])
        assert r["new_mrr_rolling_3m_prior"] == pytest.approx(plain["2025" + r["period"][4:]])


def test_fill_with_compare_and_dimensions(client) -> None:
    data = rows(
        client,
        "/metrics/device_events",
        grain="day",
        start="2026-10-15",
        end="2026-10-20",
        dimensions="device_type",
        compare="prior_period",
        fill="zero",
    )
    assert len({r["period"] for r in data}) == 6
    assert all(r["device_events"] == 0 for r in data if r["period"] < "2026-10-18")


def _months_back(period: str, months: int) -> str:
    y, m = int(period[:4]), int(period[5:7]) - months
    while m < 1:
        y, m = y - 1, m + 12
    return f"{y:04d}-{m:02d}-01"


def _weeks_back(period: str, weeks: int) -> str:
    return (date.fromisoformat(period) - timedelta(weeks=weeks)).isoformat()


PRIOR_PERIOD_CASES = [  # metric, grain, start, end, hand SQL of the metric per period, the period before
    (
        "new_mrr",
        "month",
        "2025-01-01",
        "2025-12-31",
        "SELECT date_trunc('month', month_start)::DATE, sum(new_mrr) FROM entity.entity_subscriptions_monthly GROUP BY 1",
        lambda p: _months_back(p, 1),
    ),
    (
        "new_mrr",
        "quarter",
        "2025-01-01",
        "2026-06-30",
        "SELECT date_trunc('quarter', month_start)::DATE, sum(new_mrr) FROM entity.entity_subscriptions_monthly GROUP BY 1",
        lambda p: _months_back(p, 3),
    ),
    (
        "actions",
        "week",
        "2026-06-01",
        "2026-08-30",  # a Monday to a Sunday: whole ISO weeks
        "SELECT date_trunc('week', activity_timestamp)::DATE, sum(actions_taken) FROM staging.stg_app__user_activities GROUP BY 1",
        lambda p: _weeks_back(p, 1),
    ),
]


@pytest.mark.parametrize(
    ("metric", "grain", "start", "end", "sql", "before"), PRIOR_PERIOD_CASES, ids=[c[1] for c in PRIOR_PERIOD_CASES]
)
def test_compare_prior_period_against_hand_written_sql(client, oracle, metric, grain, start, end, sql, before) -> None:
    data = rows(client, f"/metrics/{metric}", grain=grain, start=start, end=end, compare="prior_period")
    totals = oracle_map(oracle, sql)
    expected_periods = sorted(p for p in totals if start <= p <= end)
    assert [r["period"] for r in data] == expected_periods and len(data) >= 6
    for r in data:
        prior = totals[before(r["period"])]  # the data starts long before `start`: every prior exists
        assert r[metric] == pytest.approx(totals[r["period"]]), r["period"]
        assert r[f"{metric}_prior"] == pytest.approx(prior), r["period"]
        assert r[f"{metric}_change"] == pytest.approx(totals[r["period"]] - prior), r["period"]
        assert r[f"{metric}_change_pct"] == pytest.approx(100 * (totals[r["period"]] - prior) / abs(prior)), r["period"]
    # the answer is not a coincidence of flat data: consecutive periods differ in the oracle
    assert len({r[f"{metric}_change"] for r in data}) > 1 and any(r[f"{metric}_change"] != 0 for r in data)


def _truncation(client, limit: int, fmt: str) -> tuple[int, bool]:
    """(rows answered, truncated) of new_mrr by month with ``limit``, read from the JSON meta or the CSV header."""
    response = client.get("/metrics/new_mrr", params={"grain": "month", "limit": limit, "format": fmt})
    assert response.status_code == 200, response.text
    if fmt == "csv":
        flag = response.headers["X-Truncated"]
        assert flag in ("true", "false")
        return len(response.text.strip().splitlines()) - 1, flag == "true"  # a header line, then the rows
    body = response.json()
    return len(body["rows"]), body["meta"]["truncated"]


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_truncated_exactly_when_rows_are_left_out(client, oracle, fmt: str) -> None:
    n = oracle.execute(
        "SELECT count(DISTINCT date_trunc('month', month_start)) FROM entity.entity_subscriptions_monthly"
    ).fetchone()[0]
    assert n >= 3
    assert _truncation(client, n + 1, fmt) == (n, False)
    assert _truncation(client, n, fmt) == (n, False)  # exactly the whole answer: nothing left out
    assert _truncation(client, n - 1, fmt) == (n - 1, True)
