"""Spark's numbers against Spark SQL written by hand, and its queries' bounds (test_same_numbers.py holds it to
DuckDB)."""

from __future__ import annotations

import time
from datetime import UTC
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from app.compiler.query import MetricQuery
from app.engine.runner import run_metric_query
from app.engine.spark import SparkWarehouse
from app.errors import DatabaseError, InvalidQuery, QueryTimeout
from tests.engines.corpus import assert_same_to_the_cent

EVENTS_BY_UTC_HOUR = """
    SELECT grain_timestamp, sum(event_count) AS device_events
    FROM entity.entity_devices_hourly
    WHERE grain_timestamp >= TIMESTAMP_NTZ'2026-10-24 22:00:00' AND grain_timestamp < TIMESTAMP_NTZ'2026-10-26 23:00:00'
    GROUP BY grain_timestamp ORDER BY grain_timestamp
"""


def test_spark_hours_of_berlin_fall_back_equal_hand_sql(on_spark: Any) -> None:
    """25 and 26 October 2026 in Berlin are 25 + 24 hours: each is the UTC hour it starts at, told in Berlin's wall
    time with its offset (zoneinfo's), the repeated 02:00 twice (+02:00, then +01:00)."""
    warehouse, project = on_spark
    query = MetricQuery(
        metrics="device_events",
        grain="hour",
        tz="Europe/Berlin",
        start="2026-10-25",
        end="2026-10-26",
        pre_aggregations="off",
    )
    got = run_metric_query(warehouse, project, query, timeout_s=120, rollups={}).rows
    hand = warehouse.select(EVENTS_BY_UTC_HOUR, timeout_s=120).rows
    berlin = ZoneInfo("Europe/Berlin")
    expected = [
        {"period": at.replace(tzinfo=UTC).astimezone(berlin).isoformat(), "device_events": float(events)}
        for at, events in hand
    ]
    assert len(got) == 49 == len(expected)
    assert [r["period"] for r in got[2:4]] == ["2026-10-25T02:00:00+02:00", "2026-10-25T02:00:00+01:00"]
    assert_same_to_the_cent(got, expected, ordered=True)


def test_spark_queries_are_bounded_and_read_only(spark_lake: SparkWarehouse) -> None:
    with pytest.raises(QueryTimeout, match="limit"):  # minutes of work, cancelled with its job group at 1 s
        spark_lake.select("SELECT count(*) FROM range(0, 100000000000, 1, 2) a", timeout_s=1)
    # a query of several jobs: those it starts after the limit are cancelled too, so the session goes idle
    many_jobs = (
        "SELECT count(*) FROM entity.entity_teams_daily a CROSS JOIN entity.entity_teams_daily b "
        "WHERE a.team_size + b.team_size > 0"
    )
    with pytest.raises(QueryTimeout):
        spark_lake.select(many_jobs, timeout_s=2)
    tracker = spark_lake.spark.sparkContext.statusTracker()
    deadline = time.monotonic() + 120
    while tracker.getActiveJobsIds() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not tracker.getActiveJobsIds()
    assert spark_lake.select("SELECT 1 AS one", timeout_s=60).rows == [(1,)]  # the session serves on
    for write in (
        "DROP TABLE entity.entity_customers",
        "WITH x AS (SELECT * FROM staging.stg_crm__customers) INSERT INTO staging.stg_crm__customers SELECT * FROM x",
    ):
        with pytest.raises(DatabaseError, match="Only queries"):
            spark_lake.select(write, timeout_s=10)
    with pytest.raises(InvalidQuery) as bad:
        spark_lake.select("SELECT CAST(:v AS DATE)", timeout_s=60, params={"v": "secret-value"})
    assert "secret-value" not in bad.value.detail
