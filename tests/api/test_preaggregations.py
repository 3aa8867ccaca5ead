"""Pre-aggregations over HTTP (DESIGN 13): every shipped rollup answers its dashboard queries with the numbers
the base tables give (``?pre_aggregations=off``), says which rollup it read, and is not read where it cannot
answer exactly; hand-written SQL over the base tables checks a few of the rollup answers on its own."""

from __future__ import annotations

import math
from typing import Any

import duckdb
import pytest
from fastapi.testclient import TestClient

REL = 1e-9  # sums of DOUBLE values (averages of scores) are added in another order through a rollup

REVENUE = [
    ("mrr", {"grain": "month"}),
    ("mrr", {"grain": "quarter"}),
    ("mrr,arr", {"grain": "year", "dimensions": "customer_tier"}),
    ("active_customers", {"grain": "quarter", "dimensions": "sales_region"}),
    ("arpa", {"grain": "month", "start": "2025-01-01", "end": "2025-12-31"}),
    ("mrr", {"grain": "month", "compare": "prior_year", "start": "2026-01-01", "end": "2026-10-31"}),
    (
        "mrr",
        {
            "grain": "month",
            "dimensions": "customer_segment",
            "where": "customer_tier in ('growth','enterprise') and sales_region <> 'EMEA'",
        },
    ),
    (
        "arr",
        {"grain": "quarter", "fill": "zero", "dimensions": "customer_tier", "start": "2024-01-01", "end": "2026-12-31"},
    ),
    ("mrr", {"start": "2026-01-01", "end": "2026-06-30"}),
    ("active_customers,mrr", {"grain": "month", "dimensions": "sales_region", "order": "-mrr", "limit": 20}),
    ("mrr", {"grain": "quarter", "compare": "prior_period", "dimensions": "sales_region"}),
    ("arpa", {"grain": "quarter", "dimensions": "customer_tier", "fill": "null", "start": "2025-01-01"}),
]
DEVICES = [
    ("device_events", {"grain": "day"}),
    ("device_errors,device_events", {"grain": "week", "dimensions": "device_type"}),
    ("device_error_rate", {"grain": "day", "dimensions": "os"}),
    ("device_uptime_pct", {"grain": "day", "dimensions": "device_type"}),
    ("online_devices", {"grain": "day", "dimensions": "device_type,os"}),
    ("device_events", {"grain": "day", "dimensions": "os", "where": "device_type = 'kiosk'"}),
    ("device_events", {"grain": "day", "compare": "prior_period", "start": "2026-10-20", "end": "2026-10-31"}),
    ("device_events", {"grain": "day", "fill": "zero", "start": "2026-10-15", "end": "2026-11-03"}),
    ("device_uptime_pct", {"start": "2026-10-19", "end": "2026-10-25"}),
    ("device_events,device_errors", {"grain": "month"}),
    ("device_events", {"grain": "day", "dimensions": "device_type", "order": "-device_events", "limit": 5}),
]
BY_LOCATION = [
    ("device_events", {"grain": "day", "dimensions": "location.city"}),
    ("device_errors", {"grain": "week", "dimensions": "location.customer.sales_region"}),
    ("device_error_rate", {"grain": "day", "dimensions": "location.customer.customer_tier"}),
    (
        "device_uptime_pct",
        {"grain": "day", "dimensions": "location.city", "where": "location.customer.sales_region = 'EMEA'"},
    ),
    ("device_events", {"grain": "day", "where": "location.customer.customer_tier in ('growth','enterprise')"}),
    (
        "device_events",
        {
            "grain": "day",
            "compare": "prior_period",
            "dimensions": "location.customer.sales_region",
            "start": "2026-10-20",
            "end": "2026-10-31",
        },
    ),
    (
        "device_events",
        {"grain": "day", "fill": "zero", "dimensions": "location.customer.sales_region", "start": "2026-10-18"},
    ),
    ("device_events", {"dimensions": "location.city"}),
    ("device_errors,device_events", {"grain": "month", "dimensions": "location.customer.customer_tier,device_type"}),
    (
        "device_error_rate",
        {"grain": "week", "dimensions": "location.customer.sales_region", "where": "device_type <> 'sensor'"},
    ),
]
TEAMS = [
    ("team_size", {"grain": "week"}),
    ("team_size", {"grain": "week", "dimensions": "team_type"}),
    ("active_user_percentage", {"grain": "week", "dimensions": "customer.customer_tier"}),
    ("team_health_score", {"grain": "week", "start": "2026-01-05", "end": "2026-10-25"}),
    ("feature_adoption_score,collaboration_index", {"grain": "week", "dimensions": "customer.sales_region"}),
    ("team_size", {"grain": "week", "compare": "prior_year", "start": "2026-06-01", "end": "2026-10-25"}),
    ("team_member_days", {"grain": "week", "fill": "zero", "where": "team_type = 'sales'", "start": "2026-09-07"}),
    ("team_size", {"start": "2026-10-05", "end": "2026-10-25"}),
    (
        "team_active_user_days",
        {"grain": "week", "dimensions": "customer.customer_segment,team_type", "order": "-team_active_user_days"},
    ),
    (
        "team_health_score",
        {
            "grain": "week",
            "dimensions": "team_type",
            "compare": "prior_period",
            "start": "2026-09-07",
            "end": "2026-10-25",
        },
    ),
]
CASES = (
    [("revenue_monthly", m, p) for m, p in REVENUE]
    + [("devices_daily", m, p) for m, p in DEVICES]
    + [("devices_by_location_daily", m, p) for m, p in BY_LOCATION]
    + [("teams_weekly", m, p) for m, p in TEAMS]
)


def ask(client: TestClient, metrics: str, params: dict[str, Any], **extra: str) -> dict[str, Any]:
    if "," in metrics:
        body = {**params, "metrics": metrics.split(","), **extra}
        for key in ("dimensions", "order"):
            if key in body:
                body[key] = str(body[key]).split(",")
        response = client.post("/query", json=body)
    else:
        response = client.get(f"/metrics/{metrics}", params={**params, **extra})
    assert response.status_code == 200, response.text
    return response.json()


def same(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if x.keys() != y.keys():
            return False
        for k in x:
            u, v = x[k], y[k]
            if isinstance(u, float) and isinstance(v, float):
                if not math.isclose(u, v, rel_tol=REL, abs_tol=1e-12):
                    return False
            elif u != v:
                return False
    return True


@pytest.mark.parametrize(
    ("rollup", "metrics", "params"), CASES, ids=[f"{r}:{m}:{i}" for i, (r, m, _) in enumerate(CASES)]
)
def test_a_rollup_answers_as_the_base_tables_do(client: TestClient, rollup: str, metrics: str, params: dict) -> None:
    fast = ask(client, metrics, params)
    slow = ask(client, metrics, params, pre_aggregations="off")
    assert fast["meta"]["pre_aggregation"]["used"] == rollup, fast["meta"]["pre_aggregation"]
    assert rollup in fast["meta"]["sql"] or "rollup." in fast["meta"]["sql"]
    assert slow["meta"]["pre_aggregation"]["used"] is None
    assert "rollup." not in slow["meta"]["sql"]
    assert fast["rows"], "a comparison of two empty answers proves nothing"
    assert same(fast["rows"], slow["rows"]), (fast["rows"][:3], slow["rows"][:3])
    assert fast["meta"]["partial_periods"] == slow["meta"]["partial_periods"]


def test_every_shipped_rollup_answers_at_least_ten_queries() -> None:
    counted: dict[str, int] = {}
    for rollup, _, _ in CASES:
        counted[rollup] = counted.get(rollup, 0) + 1
    assert set(counted) == {"revenue_monthly", "devices_daily", "devices_by_location_daily", "teams_weekly"}
    assert min(counted.values()) >= 10


ORACLES = [  # (metric, params, the rollup that answers, hand-written SQL over the base tables)
    (
        "mrr",
        {"grain": "quarter", "dimensions": "customer_tier"},
        "revenue_monthly",  # a quarter is its last snapshot
        """
        WITH last AS (
            SELECT date_trunc('quarter', snapshot_date) AS q, max(snapshot_date) AS d
            FROM entity.entity_customers_daily WHERE customer_status = 'active' GROUP BY 1)
        SELECT CAST(l.q AS DATE)::VARCHAR, c.customer_tier, sum(c.monthly_recurring_revenue)::DOUBLE
        FROM entity.entity_customers_daily c JOIN last l ON c.snapshot_date = l.d
        WHERE c.customer_status = 'active' GROUP BY ALL ORDER BY 1, 2
        """,
    ),
    (
        "device_events",
        {"grain": "week", "dimensions": "location.city"},
        "devices_by_location_daily",  # weeks cut from days
        """
        SELECT CAST(date_trunc('week', h.grain_timestamp) AS DATE)::VARCHAR, l.city, sum(h.event_count)::DOUBLE
        FROM entity.entity_devices_hourly h LEFT JOIN entity.entity_locations l USING (location_id)
        GROUP BY ALL ORDER BY 1, 2 NULLS LAST
        """,
    ),
]


@pytest.mark.parametrize(("metric", "params", "rollup", "sql"), ORACLES, ids=[o[0] for o in ORACLES])
def test_a_rollup_answer_equals_hand_written_sql_over_the_base_tables(
    client: TestClient, oracle: duckdb.DuckDBPyConnection, metric: str, params: dict, rollup: str, sql: str
) -> None:
    body = ask(client, metric, params)
    assert body["meta"]["pre_aggregation"]["used"] == rollup
    dimension = params["dimensions"]
    got = [(r["period"], r[dimension], r[metric]) for r in body["rows"]]
    assert got == [tuple(r) for r in oracle.execute(sql).fetchall()]


@pytest.mark.parametrize(
    ("metrics", "params", "reasons"),
    [
        (
            "online_devices",
            {"grain": "week", "dimensions": "device_type,os"},
            {"devices_daily": "online_devices is a distinct count: devices_daily answers it only by day"},
        ),
        (
            "online_devices",
            {"grain": "day", "dimensions": "device_type"},
            {"devices_daily": "with exactly its dimensions (device_type, os)"},
        ),
        (
            "device_events",
            {"grain": "day", "dimensions": "os,location.city"},
            {
                "devices_daily": "dimension location.city not in devices_daily",
                "devices_by_location_daily": "dimension os not in devices_by_location_daily",
            },
        ),
        (
            "device_events",
            {"grain": "hour"},
            {"devices_daily": "grain hour is not made of whole days"},
        ),
        (
            "mrr",
            {"grain": "month", "end": "2026-10-15"},
            {"revenue_monthly": "end 2026-10-15 is not the last day of a month"},
        ),
        (
            "team_size",
            {"grain": "month"},
            {"teams_weekly": "grain month is not made of whole weeks"},
        ),
        (
            "mrr",
            {"grain": "month", "compare": "prior_year", "compare_to": "same_days", "start": "2026-01-01"},
            {"revenue_monthly": "compare_to=same_days compares single days"},
        ),
        (
            "device_events",
            {"grain": "day", "where": "location.city = 'Berlin'", "dimensions": "device_type"},
            {"devices_daily": "where uses dimension location.city, not in devices_daily"},
        ),
    ],
)
def test_a_rollup_that_cannot_answer_exactly_is_skipped_and_says_why(
    client: TestClient, metrics: str, params: dict, reasons: dict[str, str]
) -> None:
    fast = ask(client, metrics, params)
    slow = ask(client, metrics, params, pre_aggregations="off")
    choice = fast["meta"]["pre_aggregation"]
    said = {s["name"]: s["reason"] for s in choice["skipped"]}
    for name, reason in reasons.items():
        assert name in said and reason in said[name], said
    if choice["used"] is None:
        assert "rollup." not in fast["meta"]["sql"]
    assert same(fast["rows"], slow["rows"])


def test_off_lists_every_rollup_holding_the_metrics(client: TestClient) -> None:
    body = ask(client, "device_events", {"grain": "day"}, pre_aggregations="off")
    assert body["meta"]["pre_aggregation"] == {
        "used": None,
        "table": None,
        "skipped": [
            {"name": "devices_daily", "reason": "pre_aggregations=off"},
            {"name": "devices_by_location_daily", "reason": "pre_aggregations=off"},
        ],
    }
    none = ask(client, "customer_lifetime_value", {"grain": "month"})
    assert none["meta"]["pre_aggregation"] is None  # no rollup holds it


def test_an_unknown_pre_aggregations_value_is_a_clear_400(client: TestClient) -> None:
    response = client.get("/metrics/mrr", params={"grain": "month", "pre_aggregations": "never"})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "pre_aggregations" in response.text and "auto" in response.text


def test_pre_aggregations_lists_each_rollup_with_coverage_size_and_use(client: TestClient) -> None:
    before = {p["name"]: p for p in client.get("/pre-aggregations").json()["pre_aggregations"]}
    assert set(before) == {"revenue_monthly", "devices_daily", "devices_by_location_daily", "teams_weekly"}
    daily = before["devices_daily"]
    assert daily["table"].startswith("rollup.devices_daily_")
    assert daily["grain"] == "day" and daily["base_table"] == "entity.entity_devices_hourly"
    assert daily["coverage"] == [{"from": "2026-10-18T00:00:00", "until": "2026-11-01T00:00:00"}]
    assert daily["rows"] > 0 and daily["bytes"] > 0 and daily["last_refresh"]
    assert any("online_devices is a distinct count" in n for n in daily["notes"])
    assert before["revenue_monthly"]["coverage"][0]["from"] == "2024-01-01T00:00:00"
    ask(client, "device_events", {"grain": "week", "start": "2026-10-19", "end": "2026-10-25", "limit": 7})
    ask(client, "online_devices", {"grain": "week", "dimensions": "device_type,os", "limit": 7})
    after = {p["name"]: p for p in client.get("/pre-aggregations").json()["pre_aggregations"]}
    assert after["devices_daily"]["hits"] == daily["hits"] + 1
    assert after["devices_daily"]["misses"] == daily["misses"] + 1
