"""PostgreSQL's numbers against PostgreSQL SQL written by hand (test_same_numbers.py holds it to DuckDB)."""

from __future__ import annotations

from typing import Any

import pytest

from app.compiler.query import MetricQuery
from app.engine.runner import run_metric_query
from tests.engines.corpus import assert_same_to_the_cent

# Hand-written PostgreSQL: the numbers themselves, not only their agreement with DuckDB.
MRR_BY_MONTH = """
    WITH last_day AS (
        SELECT max(snapshot_date) AS snapshot_date FROM entity.entity_customers_daily
        GROUP BY date_trunc('month', snapshot_date)
    )
    SELECT date_trunc('month', d.snapshot_date)::date AS period, sum(monthly_recurring_revenue) AS mrr
    FROM entity.entity_customers_daily d JOIN last_day USING (snapshot_date)
    WHERE customer_status = 'active'
    GROUP BY 1 ORDER BY 1
"""
EVENTS_BY_DAY_IN_BERLIN = """
    SELECT date_trunc('day', grain_timestamp AT TIME ZONE 'UTC' AT TIME ZONE 'Europe/Berlin')::date AS period,
           sum(event_count) AS device_events
    FROM entity.entity_devices_hourly
    WHERE grain_timestamp AT TIME ZONE 'UTC' AT TIME ZONE 'Europe/Berlin' >= '2026-10-24'
      AND grain_timestamp AT TIME ZONE 'UTC' AT TIME ZONE 'Europe/Berlin' < '2026-10-27'
    GROUP BY 1 ORDER BY 1
"""
SESSIONS_PER_ACTION_BY_WEEK = """
    SELECT date_trunc('week', activity_timestamp)::date AS period,
           sum(actions_taken)::double precision / count(DISTINCT session_id) AS actions_per_session
    FROM staging.stg_app__user_activities
    WHERE activity_timestamp >= '2026-09-07' AND activity_timestamp < '2026-10-26'
    GROUP BY 1 ORDER BY 1
"""


@pytest.mark.parametrize(
    ("query", "sql"),
    [
        ({"metrics": "mrr", "grain": "month"}, MRR_BY_MONTH),
        (
            {
                "metrics": "device_events",
                "grain": "day",
                "tz": "Europe/Berlin",
                "start": "2026-10-24",
                "end": "2026-10-26",
            },
            EVENTS_BY_DAY_IN_BERLIN,
        ),
        (
            {"metrics": "actions_per_session", "grain": "week", "start": "2026-09-07", "end": "2026-10-25"},
            SESSIONS_PER_ACTION_BY_WEEK,
        ),
    ],
    ids=["semi-additive month", "days of 24 and 25 hours in Berlin", "ratio of integers by week"],
)
def test_postgres_answers_equal_hand_sql(on_pg: Any, query: dict[str, Any], sql: str) -> None:
    warehouse, project = on_pg
    got = run_metric_query(warehouse, project, MetricQuery(**query, pre_aggregations="off"), timeout_s=60, rollups={})
    rows = warehouse.select(sql, timeout_s=60).rows
    expected = [{"period": r[0].isoformat(), query["metrics"]: float(r[1])} for r in rows]
    assert len(rows) >= 3
    assert_same_to_the_cent(got.rows, expected, ordered=True)
