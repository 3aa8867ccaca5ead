"""Rollups in the builds (DESIGN 13): built batch by batch after the tables they read, refreshed when those
change, never read over a span whose base changed since they were built there, rebuilt into a new table when
their definition changes; a window metric reads a rollup through its base values."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from app.compiler.query import MetricQuery
from app.definitions.loader import load_project
from app.engine.building.plan import BuildRequest, plan_build
from app.engine.building.runner import Progress, run_build
from app.engine.database import read_catalog
from app.engine.runner import run_metric_query
from tests.conftest import ROOT

UNTIL = datetime(2026, 11, 1)
HOURLY = "entity.entity_devices_hourly"
BY_DAY = MetricQuery(metrics=("device_events",), grain="day", dimensions=("device_type",))


@pytest.fixture
def con(demo_copy: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A private copy of the demo data, open for writing."""
    connection = duckdb.connect(str(demo_copy))
    yield connection
    connection.close()


@pytest.fixture
def project(con: duckdb.DuckDBPyConnection):
    """The shipped definitions over that copy."""
    return load_project(ROOT, read_catalog(con))


def answer(con: duckdb.DuckDBPyConnection, project, query: MetricQuery, **update):
    result = run_metric_query(con, project, query.model_copy(update=update), timeout_s=60)
    return result.rows, result.compiled.pre_aggregation


def agreed(con: duckdb.DuckDBPyConnection, project, query: MetricQuery, **update) -> dict:
    """What ``query`` read (meta.pre_aggregation), once its answer is checked equal to the base tables'."""
    rows, used = answer(con, project, query, **update)
    assert rows, "two empty answers prove nothing"
    assert same(rows, answer(con, project, query, pre_aggregations="off", **update)[0])
    return used


def same(a: list[dict], b: list[dict]) -> bool:
    return len(a) == len(b) and all(
        x.keys() == y.keys()
        and all(
            math.isclose(x[k], y[k], rel_tol=1e-9)
            if isinstance(x[k], float) and isinstance(y[k], float)
            else x[k] == y[k]
            for k in x
        )
        for x, y in zip(a, b, strict=True)
    )


def test_a_rollup_behind_its_base_is_not_read_until_the_build_catches_up(
    con: duckdb.DuckDBPyConnection, project
) -> None:
    before, used = answer(con, project, BY_DAY)
    assert used["used"] == "devices_daily"
    # new data lands in the source of one day: every hour of 25 October reports 1,000 more events
    con.execute(
        "UPDATE staging.stg_devices__telemetry SET events = events + 1000 "
        "WHERE hour >= TIMESTAMP '2026-10-25' AND hour < TIMESTAMP '2026-10-26'"
    )
    request = BuildRequest(tables=(HOURLY,), start=date(2026, 10, 25), end=date(2026, 10, 26))
    plan = plan_build(con, project, request, UNTIL)
    assert [t.name.split("_")[0] for t in plan.tables] == [HOURLY.split("_")[0], "rollup.devices", "rollup.devices"]
    stop = threading.Event()

    def after(progress: Progress) -> None:
        if progress.table == HOURLY:  # the base has its new rows; the run stops before the rollups
            stop.set()

    report = run_build(con, project, plan, on_batch=after, stop=stop)
    assert report.status == "interrupted"
    behind, used = answer(con, project, BY_DAY)
    reasons = {s["name"]: s["reason"] for s in used["skipped"]}
    assert used["used"] is None
    assert reasons["devices_daily"] == (
        "entity.entity_devices_hourly changed on 2026-10-25 since devices_daily was built there "
        "(the next build refreshes it)"
    )
    base, _ = answer(con, project, BY_DAY, pre_aggregations="off")
    assert behind == base  # the base table's answer, not the rollup's stale one
    by_hand = dict(
        con.execute(
            "SELECT device_type, sum(event_count)::DOUBLE FROM entity.entity_devices_hourly h "
            "JOIN entity.entity_devices d USING (device_id) "
            "WHERE grain_timestamp >= TIMESTAMP '2026-10-25' AND grain_timestamp < TIMESTAMP '2026-10-26' GROUP BY 1"
        ).fetchall()
    )
    assert {r["device_type"]: r["device_events"] for r in behind if r["period"] == "2026-10-25"} == by_hand
    old = {r["device_type"]: r["device_events"] for r in before if r["period"] == "2026-10-25"}
    assert all(by_hand[k] > old[k] for k in old)
    # the days the base did not change are still read from the rollup
    _, used = answer(con, project, BY_DAY, start=date(2026, 10, 18), end=date(2026, 10, 24))
    assert used["used"] == "devices_daily"
    # the same request again resumes the run: the rollups' batches, then the rollup answers as the base does
    again = plan_build(con, project, request, UNTIL)
    assert again.resumed
    report = run_build(con, project, again)
    assert report.status == "success"
    caught_up, used = answer(con, project, BY_DAY)
    assert used["used"] == "devices_daily"
    assert same(caught_up, base)


def test_a_refresh_rebuilds_only_what_changed_under_each_rollup(con: duckdb.DuckDBPyConnection, project) -> None:
    nothing = plan_build(con, project, BuildRequest(tables=("devices_daily",)), UNTIL)
    assert [t.batches for t in nothing.tables] == []  # current everywhere: nothing to do
    plan = plan_build(con, project, BuildRequest(), UNTIL)
    report = run_build(con, project, plan)
    assert report.status == "success"
    built = dict(
        con.execute(
            "SELECT table_name, [min(batch_start), max(batch_end)] FROM meta.build_runs "
            "WHERE run_id = ? AND status = 'success' GROUP BY 1",
            [plan.run_id],
        ).fetchall()
    )
    spans = {r.name: built.get(r.physical) for r in project.rollups.values()}
    # the tables they join (devices, locations, the customers' history) were rebuilt to the same rows: the
    # rollups rebuild only the periods their incremental tables re-read (1 day of hours, 3 days of snapshots)
    assert built[HOURLY] == [datetime(2026, 10, 31), UNTIL]
    assert spans["devices_daily"] == spans["devices_by_location_daily"] == [datetime(2026, 10, 31), UNTIL]
    assert spans["revenue_monthly"] == [datetime(2026, 10, 1), UNTIL]
    assert spans["teams_weekly"] == [datetime(2026, 10, 26), datetime(2026, 11, 2)]
    skipped = {t.name: t.skipped for t in report.tables}
    assert skipped[project.rollups["teams_weekly"].physical] > 0  # planned whole, found current at its turn
    for query in (
        BY_DAY,
        MetricQuery(metrics=("mrr",), grain="quarter"),
        MetricQuery(metrics=("team_size",), grain="week"),
    ):
        used = agreed(con, project, query)
        assert used["used"] is not None


def test_a_changed_rollup_is_built_into_a_new_table_and_the_old_one_dropped(
    con: duckdb.DuckDBPyConnection, project, project_copy: Path
) -> None:
    old = project.rollups["devices_daily"].physical
    devices = project_copy / "metrics" / "devices.yml"
    text = devices.read_text()
    devices.write_text(
        text.replace("dimensions: [device_type, os]\n        grain: day", "dimensions: [os]\n        grain: day")
    )
    project = load_project(project_copy, read_catalog(con))
    new = project.rollups["devices_daily"].physical
    assert new != old
    report = run_build(con, project, plan_build(con, project, BuildRequest(tables=("devices_daily",)), UNTIL))
    assert report.status == "success"
    tables = {
        f"rollup.{n}"
        for (n,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'rollup'").fetchall()
    }
    assert new in tables and old not in tables
    query = MetricQuery(metrics=("device_events", "device_uptime_pct"), grain="week", dimensions=("os",))
    used = agreed(con, project, query)
    assert used["table"] == new


def rollup_carrier(
    name: str,
    table: str,
    column: str,
    timestamp: str,
    grains: str,
    dimensions: str,
    rollup: str,
    rolls: str,
    grain: str,
) -> str:
    """The YAML of a metric that declares a rollup of the test (``rolls``: its metrics; by its own dimensions)."""
    return f"""
  - name: {name}
    label: {name} (rollup carrier)
    description: Carries the rollup {rollup} of the test.
    model: ref('{table}')
    calculation_method: sum
    expression: {column}
    timestamp: {timestamp}
    time_grains: [{grains}]
    dimensions: [{dimensions}]
    pre_aggregations:
      - {{name: {rollup}, metrics: [{rolls}], dimensions: [{dimensions}], grain: {grain}}}
"""


SUBSCRIPTIONS = ("entity_subscriptions_monthly", "new_mrr", "month_start", "month, quarter, year")
WINDOWED = rollup_carrier(
    "new_mrr_monthly_proxy",
    *SUBSCRIPTIONS,
    "product_line, customer.sales_region",
    "subscriptions_monthly",
    "new_mrr_rolling_3m, net_new_mrr, subscription_mrr",
    "month",
)


@pytest.mark.parametrize(
    "query",
    [
        MetricQuery(metrics=("new_mrr_rolling_3m",), grain="month"),
        MetricQuery(
            metrics=("new_mrr_rolling_3m",), grain="month", dimensions=("product_line",), start=date(2025, 3, 1)
        ),
        MetricQuery(
            metrics=("new_mrr_rolling_3m",), grain="month", fill="zero", start=date(2025, 1, 1), end=date(2025, 12, 31)
        ),
        MetricQuery(
            metrics=("net_new_mrr", "subscription_mrr"), grain="quarter", dimensions=("customer.sales_region",)
        ),
        MetricQuery(metrics=("net_new_mrr",), grain="year", compare="prior_year"),
        MetricQuery(metrics=("subscription_mrr",), grain="quarter", where="product_line <> 'Analytics'"),
    ],
)
def test_windows_derived_and_snapshot_metrics_of_a_monthly_table_read_its_rollup(
    con: duckdb.DuckDBPyConnection, project_copy: Path, query: MetricQuery
) -> None:
    subs = project_copy / "metrics" / "subscriptions.yml"
    subs.write_text(subs.read_text() + WINDOWED)
    project = load_project(project_copy, read_catalog(con))
    report = run_build(con, project, plan_build(con, project, BuildRequest(tables=("subscriptions_monthly",)), UNTIL))
    assert report.status == "success"
    used = agreed(con, project, query)  # (a non-empty answer, equal to the base's)
    assert used["used"] == "subscriptions_monthly", used


def test_a_metric_with_a_filter_has_no_group_its_filter_leaves_empty(con: duckdb.DuckDBPyConnection, project) -> None:
    # no sensor is online on 20 October: online_devices has no sensor group that day, device_events has
    con.execute(
        "UPDATE staging.stg_devices__telemetry SET is_online = false WHERE hour >= TIMESTAMP '2026-10-20' "
        "AND hour < TIMESTAMP '2026-10-21' AND device_id IN "
        "(SELECT device_id FROM staging.stg_devices__devices WHERE device_type = 'sensor')"
    )
    request = BuildRequest(tables=(HOURLY,), start=date(2026, 10, 20), end=date(2026, 10, 21))
    assert run_build(con, project, plan_build(con, project, request, UNTIL)).status == "success"
    for metrics in (("online_devices",), ("online_devices", "device_events")):
        query = MetricQuery(metrics=metrics, grain="day", dimensions=("device_type", "os"), compare="prior_period")
        used = agreed(con, project, query)
        assert used["used"] == "devices_daily"
    rows, _ = answer(con, project, MetricQuery(metrics=("online_devices",), grain="day", dimensions=("device_type",)))
    assert not [r for r in rows if r["period"] == "2026-10-20" and r["device_type"] == "sensor"]


def test_rows_outside_what_the_builds_cover_keep_open_ranges_on_the_base(
    con: duckdb.DuckDBPyConnection, project
) -> None:
    # a row the builds did not write, before the first day they cover (loaded by hand, say)
    con.execute(
        "INSERT INTO entity.entity_devices_hourly SELECT grain_timestamp - INTERVAL 10 DAY, device_id, location_id, "
        "is_online, event_count, error_count, uptime_seconds FROM entity.entity_devices_hourly LIMIT 1"
    )
    rows, used = answer(con, project, BY_DAY)
    assert (
        used["used"] is None
        and "without a time or outside" in dict((s["name"], s["reason"]) for s in used["skipped"])["devices_daily"]
    )
    assert same(rows, answer(con, project, BY_DAY, pre_aggregations="off")[0])
    inside = {"start": date(2026, 10, 19), "end": date(2026, 10, 31)}
    used = agreed(con, project, BY_DAY, **inside)
    assert used["used"] == "devices_daily"


def test_a_definition_reverted_to_a_dropped_rollup_builds_it_afresh(
    con: duckdb.DuckDBPyConnection, project, project_copy: Path
) -> None:
    shipped = project
    revenue = project_copy / "metrics" / "revenue.yml"
    revenue.write_text(
        revenue.read_text().replace(
            "sales_region]\n        grain: month", "sales_region, country]\n        grain: month"
        )
    )
    changed = load_project(project_copy, read_catalog(con))
    request = BuildRequest(tables=("revenue_monthly",))
    assert run_build(con, changed, plan_build(con, changed, request, UNTIL)).status == "success"  # drops the old
    query = MetricQuery(metrics=("mrr",), grain="quarter")
    rows, used = answer(con, shipped, query)  # reverted: its table is gone, the base answers
    assert used["used"] is None and "not built yet" in used["skipped"][0]["reason"]
    plan = plan_build(con, shipped, request, UNTIL)
    assert [(b.start, b.end) for t in plan.tables for b in t.batches][0][0] == datetime(2024, 1, 1)  # all of it
    assert run_build(con, shipped, plan).status == "success"
    used = agreed(con, shipped, query)
    assert used["used"] == "revenue_monthly"


COHORTED = rollup_carrier(
    "new_mrr_by_cohort",
    *SUBSCRIPTIONS,
    "customer.signup_cohort",
    "subscriptions_by_cohort",
    "new_mrr, subscription_mrr",
    "month",
) + rollup_carrier(
    "team_days_by_band",
    "entity_teams_daily",
    "team_size",
    "snapshot_date",
    "day, week, month, quarter, year",
    "team_size_band",
    "teams_by_band_daily",
    "team_member_days, team_size",
    "day",
)


@pytest.mark.parametrize(
    ("query", "rollup"),
    [
        (
            MetricQuery(metrics=("new_mrr",), grain="quarter", dimensions=("customer.signup_cohort",)),
            "subscriptions_by_cohort",
        ),
        (
            MetricQuery(
                metrics=("subscription_mrr",),
                grain="fiscal_year",
                fiscal_year_start=2,
                where="customer.signup_cohort >= DATE '2025-01-01'",
            ),
            "subscriptions_by_cohort",
        ),
        (
            MetricQuery(metrics=("team_member_days",), grain="month", dimensions=("team_size_band",)),
            "teams_by_band_daily",
        ),
        (  # weeks from Sunday: the daily rollup answers; a semi-additive metric takes each week's last day there
            MetricQuery(
                metrics=("team_size",),
                grain="week",
                dimensions=("team_size_band",),
                week_start="sunday",
                start=date(2026, 8, 2),
            ),
            "teams_by_band_daily",
        ),
        (
            MetricQuery(metrics=("team_size",), grain="month", dimensions=("team_size_band",), tz="Europe/Berlin"),
            "teams_by_band_daily",
        ),
    ],
)
def test_computed_dimensions_and_calendars_read_rollups_exactly(
    con: duckdb.DuckDBPyConnection, project_copy: Path, query: MetricQuery, rollup: str
) -> None:
    """A rollup by computed dimensions answers like the base; a daily rollup over DATE columns answers weeks from
    any day and any zone (dates are not shifted), as the base tables do."""
    subs = project_copy / "metrics" / "subscriptions.yml"
    subs.write_text(subs.read_text() + COHORTED)
    project = load_project(project_copy, read_catalog(con))
    request = BuildRequest(tables=("subscriptions_by_cohort", "teams_by_band_daily"))
    assert run_build(con, project, plan_build(con, project, request, UNTIL)).status == "success"
    used = agreed(con, project, query)
    assert used["used"] == rollup, used


def test_a_zone_or_a_week_start_skips_rollups_cut_otherwise(con: duckdb.DuckDBPyConnection, project) -> None:
    zoned = MetricQuery(metrics=("device_events",), grain="day", dimensions=("device_type",), tz="Europe/Berlin")
    _, used = answer(con, project, zoned)
    assert used["used"] is None
    assert "devices_daily is cut in UTC periods of grain_timestamp; tz=Europe/Berlin cuts its own" in [
        s["reason"] for s in used["skipped"]
    ]
    weekly = MetricQuery(metrics=("team_size",), grain="week", week_start="sunday")
    _, used = answer(con, project, weekly)
    assert {"name": "teams_weekly", "reason": "teams_weekly holds weeks starting on monday, not sunday"} in used[
        "skipped"
    ]
