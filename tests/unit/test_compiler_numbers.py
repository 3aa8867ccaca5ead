"""The compiler's numbers, without HTTP: each query's rows against hand-written SQL over the same data,
or against an invariant that must hold (a breakdown sums to the total, a quarter's snapshot equals its
last month's, a _prior value equals the period before). The data is tests/unit/tiny_warehouse.py.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp
from sqlglot.optimizer.qualify import qualify

from app.compiler.query import MetricQuery
from app.compiler.sql import DIALECTS, compile_query
from app.definitions.loader import load_texts, read_definition_files
from app.engine.database import read_catalog
from app.errors import InvalidQuery

# Metrics over the shipped entities that the shipped definitions do not have: every aggregate, every
# filter operator, the other snapshot choice, window groupings and windows of other shapes.
EXTRA = """\
version: 2
metrics:
  - {name: t_sub_rows, model: "ref('entity_subscriptions_monthly')", calculation_method: count,
     timestamp: month_start, dimensions: [product_line, customer.customer_tier]}
  - {name: t_sub_ids, model: "ref('entity_subscriptions_monthly')", calculation_method: count,
     expression: subscription_id, timestamp: month_start, dimensions: [product_line]}
  - {name: t_min_qty, model: "ref('entity_subscriptions_monthly')", calculation_method: min,
     expression: quantity, timestamp: month_start, dimensions: [product_line]}
  - {name: t_max_qty, model: "ref('entity_subscriptions_monthly')", calculation_method: max,
     expression: quantity, timestamp: month_start, dimensions: [product_line]}
  - {name: t_median_qty, model: "ref('entity_subscriptions_monthly')", calculation_method: median,
     expression: quantity, timestamp: month_start, dimensions: [product_line]}
  - {name: t_avg_qty, model: "ref('entity_subscriptions_monthly')", calculation_method: average,
     expression: quantity * 2, timestamp: month_start, dimensions: [product_line]}
  - {name: t_first_mrr, model: "ref('entity_customers_daily')", calculation_method: sum,
     expression: monthly_recurring_revenue, timestamp: snapshot_date, dimensions: [customer_tier],
     non_additive_dimension: {name: snapshot_date, window_choice: min}}
  - {name: t_last_per_customer, model: "ref('entity_customers_daily')", calculation_method: sum,
     expression: monthly_recurring_revenue, timestamp: snapshot_date, dimensions: [customer_tier],
     filters: [{field: customer_status, operator: '=', value: "'active'"}],
     non_additive_dimension: {name: snapshot_date, window_choice: max, window_groupings: [customer_id]}}
  - {name: t_sessions_7d, model: "ref('entity_teams_daily')", calculation_method: sum, expression: sessions,
     timestamp: snapshot_date, dimensions: [team_type, customer.sales_region], window: {count: 7, period: day}}
  - {name: t_min_sessions_7d, model: "ref('entity_teams_daily')", calculation_method: min, expression: sessions,
     timestamp: snapshot_date, dimensions: [team_type], window: {count: 7, period: day}}
  - {name: t_max_sessions_7d, model: "ref('entity_teams_daily')", calculation_method: max, expression: sessions,
     timestamp: snapshot_date, dimensions: [team_type], window: {count: 7, period: day}}
  - {name: t_rows_7d, model: "ref('entity_teams_daily')", calculation_method: count,
     timestamp: snapshot_date, dimensions: [team_type], window: {count: 7, period: day}}
  - {name: t_sessions_2w, model: "ref('entity_teams_daily')", calculation_method: sum, expression: sessions,
     timestamp: snapshot_date, dimensions: [team_type], window: {count: 2, period: week}}
  - {name: t_customers, model: "ref('entity_customers')", calculation_method: count,
     dimensions: [customer_tier, signup_date, seats, churn_date, monthly_recurring_revenue, country]}
  - {name: t_teams, model: "ref('entity_teams')", calculation_method: count, dimensions: [is_active, team_size]}
  - {name: t_snapshot_rows, model: "ref('entity_customers_daily')", calculation_method: sum, expression: 1,
     timestamp: snapshot_date, dimensions: [customer_segment], non_additive_dimension: {name: snapshot_date}}
  - {name: t_device_rows, model: "ref('entity_devices_hourly')", calculation_method: count,
     timestamp: grain_timestamp, dimensions: [customer_id, location.customer.sales_region]}
  - {name: t_churn_dates, model: "ref('entity_customers')", calculation_method: count, expression: churn_date,
     dimensions: [customer_tier]}
  - {name: t_growth_new_mrr, model: "ref('entity_subscriptions_monthly')", calculation_method: sum,
     expression: new_mrr, timestamp: month_start, dimensions: [product_line],
     filters: [{field: customer.customer_tier, operator: '=', value: "'growth'"}]}
  - {name: t_ratio, calculation_method: derived, expression: "{{ metric('t_min_qty') }} / {{ metric('t_max_qty') }}"}
"""

# name -> (filter, the same condition in hand-written SQL, table)
FILTERS = {
    "t_f_eq": ("{field: customer_tier, operator: '=', value: \"'growth'\"}", "customer_tier = 'growth'", "d"),
    "t_f_ne": ("{field: customer_tier, operator: '!=', value: \"'free'\"}", "customer_tier <> 'free'", "d"),
    "t_f_ltgt": ("{field: customer_tier, operator: '<>', value: \"'growth'\"}", "customer_tier <> 'growth'", "d"),
    "t_f_lt": ("{field: monthly_recurring_revenue, operator: '<', value: 253}", "monthly_recurring_revenue < 253", "d"),
    "t_f_le": (
        "{field: monthly_recurring_revenue, operator: '<=', value: '253'}",
        "monthly_recurring_revenue <= 253",
        "d",
    ),
    "t_f_gt": (
        "{field: monthly_recurring_revenue, operator: '>', value: 253.5}",
        "monthly_recurring_revenue > 253.5",
        "d",
    ),
    "t_f_ge": (
        "{field: monthly_recurring_revenue, operator: '>=', value: 253}",
        "monthly_recurring_revenue >= 253",
        "d",
    ),
    "t_f_in_text": (
        "{field: customer_tier, operator: in, value: \"('growth', 'free')\"}",
        "customer_tier IN ('growth', 'free')",
        "d",
    ),
    "t_f_in_one": ("{field: customer_tier, operator: in, value: \"'free'\"}", "customer_tier = 'free'", "d"),
    "t_f_not_in": (
        "{field: customer_tier, operator: not in, value: \"('growth', 'starter')\"}",
        "customer_tier NOT IN ('growth', 'starter')",
        "d",
    ),
    "t_f_like": ("{field: customer_tier, operator: like, value: \"'%er%'\"}", "customer_tier LIKE '%er%'", "d"),
    "t_f_ilike": (
        "{field: customer_segment, operator: ilike, value: \"'smb'\"}",
        "lower(customer_segment) = 'smb'",
        "d",
    ),
    "t_f_is_null": ("{field: churn_date, operator: is}", "churn_date IS NULL", "c"),
    "t_f_is_null_text": ("{field: churn_date, operator: is, value: 'NULL'}", "churn_date IS NULL", "c"),
    "t_f_is_null_lower": ("{field: churn_date, operator: is, value: 'null'}", "churn_date IS NULL", "c"),
    "t_f_is_not_null": ("{field: churn_date, operator: is not, value: null}", "churn_date IS NOT NULL", "c"),
    "t_f_is_true": ("{field: is_online, operator: is, value: true}", "is_online", "h"),
    "t_f_is_false_text": ("{field: is_online, operator: is, value: 'false'}", "NOT is_online", "h"),
    "t_f_is_not_true": ("{field: is_online, operator: is not, value: 'true'}", "NOT is_online", "h"),
    "t_f_eq_false": ("{field: is_online, operator: '=', value: false}", "NOT is_online", "h"),
}
TABLES = {
    "d": ("entity_customers_daily", "entity.entity_customers_daily"),
    "c": ("entity_customers", "entity.entity_customers"),
    "h": ("entity_devices_hourly", "entity.entity_devices_hourly"),
}
# filters whose value is a YAML list
LIST_FILTERS = {
    "t_f_in_list": (
        "{field: customer_tier, operator: in, value: [\"'growth'\", \"'starter'\"]}",
        "customer_tier IN ('growth', 'starter')",
        "d",
    ),
    "t_f_in_numbers": (
        "{field: active_subscriptions, operator: in, value: [1, 3]}",
        "active_subscriptions IN (1, 3)",
        "d",
    ),
}
FILTER_METRICS = "".join(
    f"  - {{name: {name}, model: \"ref('{TABLES[t][0]}')\", calculation_method: count, filters: [{flt}]}}\n"
    for name, (flt, _, t) in (FILTERS | LIST_FILTERS).items()
)


@pytest.fixture(scope="module")
def project(wh, root: Path):
    files = read_definition_files(root)
    files["metrics/zz_numbers.yml"] = EXTRA + FILTER_METRICS
    return load_texts(files, read_catalog(wh))


@pytest.fixture(scope="module")
def run(project, wh):
    """Compile a query, run it and return its rows as dicts (checking the declared columns on the way)."""

    def run_query(*, cached: bool = False, **query) -> list[dict]:
        if not cached:  # compile in full: a shape compiled by an earlier query would hide the compiler's work
            project.cache.clear()
        compiled = compile_query(project, MetricQuery(**query))
        cursor = wh.execute(compiled.duckdb_sql, compiled.params)
        names = [d[0] for d in cursor.description]
        assert names == [c.name for c in compiled.columns]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    return run_query


def sql(wh, text: str) -> list[tuple]:
    return wh.execute(text).fetchall()


def as_map(rows: list[tuple]) -> dict:
    """Hand-SQL rows (keys..., value) as {key or (keys): float}."""
    out = {}
    for *keys, value in rows:
        out[keys[0] if len(keys) == 1 else tuple(keys)] = None if value is None else float(value)
    return out


def flat(mapping: dict) -> dict:
    """{key: (a, b)} as {(key, 0): a, (key, 1): b}, which pytest.approx can compare."""
    return {(k, i): x for k, v in mapping.items() for i, x in enumerate(v if isinstance(v, tuple) else (v,))}


def keyed(rows: list[dict], metric: str, *keys: str) -> dict:
    return {(r[keys[0]] if len(keys) == 1 else tuple(r[k] for k in keys)): r[metric] for r in rows}


ACTIVE = "(SELECT * FROM entity.entity_customers_daily WHERE customer_status = 'active')"


def last_snapshot(grain: str, keys: str = "", source: str = ACTIVE, value: str = "monthly_recurring_revenue") -> str:
    """Hand SQL: per period, the rows of the period's latest snapshot date, summed (by ``keys``)."""
    return f"""
        WITH a AS {source},
        l AS (SELECT CAST(date_trunc('{grain}', snapshot_date) AS DATE) AS p, max(snapshot_date) AS d FROM a GROUP BY 1)
        SELECT l.p{keys}, sum(a.{value}) FROM l JOIN a ON a.snapshot_date = l.d GROUP BY ALL
    """


# --- semi-additive metrics: the period's last snapshot ----------------------------------------------


@pytest.mark.parametrize("grain", ["day", "week", "month", "quarter", "year"])
def test_mrr_is_the_last_active_snapshot_of_each_period(run, wh, grain) -> None:
    got = keyed(run(metrics=("mrr",), grain=grain), "mrr", "period")
    assert got == pytest.approx(as_map(sql(wh, last_snapshot(grain))))
    assert len(got) > 1 or grain == "year"


def test_a_quarter_of_mrr_equals_its_last_month(run) -> None:
    months = keyed(run(metrics=("mrr",), grain="month"), "mrr", "period")
    quarters = keyed(run(metrics=("mrr",), grain="quarter"), "mrr", "period")
    assert quarters == {date(2025, 1, 1): months[date(2025, 3, 1)], date(2025, 4, 1): months[date(2025, 6, 1)]}


def test_mrr_by_tier_and_country_reads_the_snapshot_and_the_customers_table(run, wh) -> None:
    got = keyed(
        run(metrics=("mrr",), grain="quarter", dimensions=("customer_tier", "country")),
        "mrr",
        "period",
        "customer_tier",
        "country",
    )
    source = """(SELECT d.*, c.country FROM entity.entity_customers_daily AS d
                 LEFT JOIN entity.entity_customers AS c ON c.customer_id = d.customer_id
                 WHERE d.customer_status = 'active')"""
    expected = as_map(sql(wh, last_snapshot("quarter", ", a.customer_tier, a.country", source)))
    assert got == pytest.approx(expected)
    # customer 1 moved from growth to enterprise in March: the quarter shows where it ended up
    assert (date(2025, 1, 1), "growth", "US") not in got
    totals = keyed(run(metrics=("mrr",), grain="quarter"), "mrr", "period")
    for quarter, total in totals.items():
        assert sum(v for (p, *_), v in got.items() if p == quarter) == pytest.approx(total)


def test_mrr_without_grain_is_the_last_snapshot_within_the_bounds(run, wh) -> None:
    [row] = run(metrics=("mrr", "active_customers"), start="2025-02-10", end="2025-04-20")
    [(mrr, customers)] = sql(
        wh,
        f"SELECT sum(monthly_recurring_revenue), count(DISTINCT customer_id) FROM {ACTIVE} AS a "
        "WHERE snapshot_date = DATE '2025-04-20'",
    )
    assert row == {"mrr": pytest.approx(float(mrr)), "active_customers": customers}


def test_active_customers_and_arpa_by_month(run, wh) -> None:
    got = run(metrics=("arpa", "mrr", "active_customers"), grain="month")
    expected = sql(
        wh,
        f"""WITH a AS {ACTIVE},
        l AS (SELECT CAST(date_trunc('month', snapshot_date) AS DATE) AS p, max(snapshot_date) AS d FROM a GROUP BY 1)
        SELECT l.p, sum(a.monthly_recurring_revenue), count(DISTINCT a.customer_id)
        FROM l JOIN a ON a.snapshot_date = l.d GROUP BY 1 ORDER BY 1""",
    )
    assert [(r["period"], r["mrr"], r["active_customers"]) for r in got] == [
        (p, pytest.approx(float(m)), n) for p, m, n in expected
    ]
    for r in got:
        assert r["arpa"] == pytest.approx(r["mrr"] / r["active_customers"])


def test_snapshot_choice_min_takes_the_first_snapshot(run, wh) -> None:
    got = keyed(
        run(metrics=("t_first_mrr",), grain="month", dimensions=("customer_tier",)),
        "t_first_mrr",
        "period",
        "customer_tier",
    )
    expected = sql(
        wh,
        """WITH f AS (SELECT CAST(date_trunc('month', snapshot_date) AS DATE) AS p, min(snapshot_date) AS d
                      FROM entity.entity_customers_daily GROUP BY 1)
           SELECT f.p, a.customer_tier, sum(a.monthly_recurring_revenue)
           FROM f JOIN entity.entity_customers_daily AS a ON a.snapshot_date = f.d GROUP BY ALL""",
    )
    assert got == pytest.approx(as_map(expected))


def test_window_groupings_take_each_customers_own_last_snapshot(run, wh) -> None:
    got = keyed(
        run(metrics=("t_last_per_customer",), grain="month", dimensions=("customer_tier",)),
        "t_last_per_customer",
        "period",
        "customer_tier",
    )
    expected = sql(
        wh,
        f"""WITH a AS {ACTIVE},
        l AS (SELECT CAST(date_trunc('month', snapshot_date) AS DATE) AS p, customer_id, max(snapshot_date) AS d
              FROM a GROUP BY 1, 2)
        SELECT l.p, a.customer_tier, sum(a.monthly_recurring_revenue)
        FROM l JOIN a ON a.snapshot_date = l.d AND a.customer_id = l.customer_id GROUP BY ALL""",
    )
    assert got == pytest.approx(as_map(expected))
    # customer 5 stopped on 2025-05-20: its May snapshot still counts
    assert got[(date(2025, 5, 1), "free")] == pytest.approx(5 * 100 + 5 * 10 + 20 % 7)


def test_customer_lifetime_value_versions_read_their_own_tables(run, wh) -> None:
    v2 = keyed(run(metrics=("customer_lifetime_value",), grain="month"), "customer_lifetime_value", "period")
    v1 = keyed(run(metrics=("customer_lifetime_value",), grain="month", version=1), "customer_lifetime_value", "period")
    assert v2 == pytest.approx(
        as_map(
            sql(
                wh,
                last_snapshot("month", "", "(SELECT * FROM entity.entity_customers_daily)", "lifetime_revenue").replace(
                    "sum(", "avg("
                ),
            )
        )
    )
    assert v1 == pytest.approx(
        as_map(
            sql(
                wh,
                "SELECT as_of_month, avg(lifetime_revenue) FROM legacy.customer_facts GROUP BY 1",
            )
        )
    )


# --- additive metrics, joins and derived metrics ----------------------------------------------------

SUBS_BY_TIER = """
    SELECT s.month_start, c.customer_tier, sum(s.new_mrr), sum(s.expansion_mrr), sum(s.contraction_mrr),
           sum(s.churned_mrr)
    FROM entity.entity_subscriptions_monthly AS s
    LEFT JOIN entity.entity_customers AS c ON c.customer_id = s.customer_id
    GROUP BY ALL
"""


def test_mrr_movements_by_a_joined_dimension(run, wh) -> None:
    metrics = ("new_mrr", "expansion_mrr", "contraction_mrr", "churned_mrr", "net_new_mrr")
    got = {
        (r["period"], r["customer.customer_tier"]): tuple(r[m] for m in metrics)
        for r in run(metrics=metrics, grain="month", dimensions=("customer.customer_tier",))
    }
    expected = {
        (p, tier): (float(n), float(e), float(c), float(ch), float(n + e - c - ch))
        for p, tier, n, e, c, ch in sql(wh, SUBS_BY_TIER)
    }
    assert flat(got) == pytest.approx(flat(expected))
    assert any(tier is None for _, tier in got)  # subscription 8's customer does not exist


def test_a_breakdown_sums_to_the_total(run) -> None:
    total = keyed(run(metrics=("new_mrr",), grain="quarter"), "new_mrr", "period")
    parts: dict = {}
    for r in run(metrics=("new_mrr",), grain="quarter", dimensions=("product_line",)):
        parts[r["period"]] = parts.get(r["period"], 0) + r["new_mrr"]
    assert parts == pytest.approx(total)


@pytest.mark.parametrize(
    ("metric", "aggregate"),
    [
        ("t_sub_rows", "count(*)"),
        ("t_sub_ids", "count(subscription_id)"),
        ("t_min_qty", "min(quantity)"),
        ("t_max_qty", "max(quantity)"),
        ("t_median_qty", "median(quantity)"),
        ("t_avg_qty", "avg(quantity * 2)"),
    ],
)
def test_each_calculation_method(run, wh, metric, aggregate) -> None:
    got = keyed(run(metrics=(metric,), grain="year", dimensions=("product_line",)), metric, "period", "product_line")
    expected = sql(
        wh,
        f"SELECT CAST(date_trunc('year', month_start) AS DATE), product_line, {aggregate} "
        "FROM entity.entity_subscriptions_monthly GROUP BY ALL",
    )
    assert got == pytest.approx(as_map(expected))


def test_every_filter_operator(run, wh) -> None:
    [row] = run(metrics=tuple(FILTERS))
    for name, (_, condition, t) in FILTERS.items():
        [(expected,)] = sql(wh, f"SELECT count(*) FROM {TABLES[t][1]} WHERE {condition}")
        assert row[name] == expected, name
    assert len({row[name] for name in FILTERS if FILTERS[name][2] == "d"}) > 8  # the filters differ


@pytest.mark.parametrize("name", sorted(LIST_FILTERS))
def test_filter_values_written_as_lists(run, wh, name) -> None:
    _, condition, t = LIST_FILTERS[name]
    [row] = run(metrics=(name,))
    [(expected,)] = sql(wh, f"SELECT count(*) FROM {TABLES[t][1]} WHERE {condition}")
    assert row[name] == expected


def test_sessions_by_paths_through_users_teams_and_customers(run, wh) -> None:
    dims = ("user_role", "team.team_type", "team.customer.sales_region", "customer.customer_tier")
    got = {
        tuple(r[k] for k in ("period", *dims)): (r["sessions"], r["daily_active_users"], r["actions"])
        for r in run(metrics=("sessions", "daily_active_users", "actions"), grain="quarter", dimensions=dims)
    }
    expected = {
        (p, role, team_type, region, tier): (s, u, float(a))
        for p, role, team_type, region, tier, s, u, a in sql(
            wh,
            """SELECT CAST(date_trunc('quarter', a.activity_timestamp) AS DATE), u.user_role, t.team_type,
                      tc.sales_region, uc.customer_tier,
                      count(DISTINCT a.session_id), count(DISTINCT a.user_id), sum(a.actions_taken)
               FROM staging.stg_app__user_activities AS a
               LEFT JOIN entity.entity_users AS u ON u.user_id = a.user_id
               LEFT JOIN entity.entity_teams AS t ON t.team_id = u.team_id
               LEFT JOIN entity.entity_customers AS tc ON tc.customer_id = t.customer_id
               LEFT JOIN entity.entity_customers AS uc ON uc.customer_id = u.customer_id
               GROUP BY ALL""",
        )
    }
    assert flat(got) == pytest.approx(flat(expected))
    assert any(k[2] is None for k in got)  # user 10's team does not exist


def test_device_metrics_by_location_at_hour_grain(run, wh) -> None:
    metrics = ("device_events", "device_errors", "device_error_rate", "online_devices", "device_uptime_pct")
    dims = ("device_type", "location.city", "location.customer.sales_region")
    rows = run(metrics=metrics, grain="hour", dimensions=dims, start="2025-03-02T05:00:00", end="2025-03-02T09:00:00")
    got = {tuple(r[k] for k in ("period", *dims)): tuple(r[m] for m in metrics) for r in rows}
    expected = {
        (p, dt, city, region): (float(e), float(er), None if ratio is None else float(ratio), n, float(up))
        for p, dt, city, region, e, er, ratio, n, up in sql(
            wh,
            """SELECT date_trunc('hour', h.grain_timestamp), d.device_type, l.city, c.sales_region,
                      sum(h.event_count), sum(h.error_count),
                      sum(h.error_count) / nullif(sum(h.event_count), 0),
                      count(DISTINCT h.device_id) FILTER (WHERE h.is_online), avg(h.uptime_seconds / 36.0)
               FROM entity.entity_devices_hourly AS h
               LEFT JOIN entity.entity_devices AS d ON d.device_id = h.device_id
               LEFT JOIN entity.entity_locations AS l ON l.location_id = h.location_id
               LEFT JOIN entity.entity_customers AS c ON c.customer_id = l.customer_id
               WHERE h.grain_timestamp BETWEEN TIMESTAMP '2025-03-02 05:00:00' AND TIMESTAMP '2025-03-02 09:00:00'
               GROUP BY ALL""",
        )
    }
    # online_devices has no row where no device was online: the hand SQL counts 0 there
    got = {k: v[:3] + (v[3] or 0,) + v[4:] for k, v in got.items()}
    assert flat(got) == pytest.approx(flat(expected))
    assert {r["period"] for r in rows} == {datetime(2025, 3, 2, h) for h in range(5, 10)}
    assert any(v[2] is None for v in got.values())  # a zero denominator gives NULL, not an error
    assert any(k[2] is None for k in got)  # device 4's location does not exist


def test_metrics_from_different_tables_in_one_query(run, wh) -> None:
    got = run(metrics=("mrr", "new_mrr", "sessions"), grain="month")
    mrr = as_map(sql(wh, last_snapshot("month")))
    new = as_map(sql(wh, "SELECT month_start, sum(new_mrr) FROM entity.entity_subscriptions_monthly GROUP BY 1"))
    sessions = as_map(
        sql(
            wh,
            "SELECT CAST(date_trunc('month', activity_timestamp) AS DATE), count(DISTINCT session_id) "
            "FROM staging.stg_app__user_activities GROUP BY 1",
        )
    )
    periods = sorted(set(mrr) | set(new) | set(sessions))
    assert [r["period"] for r in got] == periods
    for r in got:
        p = r["period"]
        assert (r["mrr"], r["new_mrr"], r["sessions"]) == pytest.approx((mrr.get(p), new.get(p), sessions.get(p))), p


def test_a_derived_metric_over_metrics_of_one_table(run, wh) -> None:
    got = keyed(run(metrics=("t_ratio",), grain="month"), "t_ratio", "period")
    expected = sql(
        wh,
        "SELECT month_start, min(quantity) / max(quantity) FROM entity.entity_subscriptions_monthly GROUP BY 1",
    )
    assert got == pytest.approx(as_map(expected))


# --- time bounds -------------------------------------------------------------------------------------


def test_start_and_end_dates_are_inclusive_days_at_any_grain(run, wh) -> None:
    got = keyed(
        run(metrics=("team_active_user_days",), grain="month", start="2025-02-10", end="2025-03-10"),
        "team_active_user_days",
        "period",
    )
    expected = sql(
        wh,
        "SELECT CAST(date_trunc('month', snapshot_date) AS DATE), sum(active_users) FROM entity.entity_teams_daily "
        "WHERE snapshot_date BETWEEN DATE '2025-02-10' AND DATE '2025-03-10' GROUP BY 1",
    )
    assert got == pytest.approx(as_map(expected))


@pytest.mark.parametrize(
    ("start", "end", "low", "high"),
    [
        (
            "2024-01-02T04:00:00",
            "2024-01-03T01:45:00",
            "TIMESTAMP '2024-01-02 04:00:00'",
            "<= TIMESTAMP '2024-01-03 01:45:00'",
        ),
        (
            "2024-01-02T04:00:01",
            "2024-01-03T01:44:59",
            "TIMESTAMP '2024-01-02 04:00:01'",
            "<= TIMESTAMP '2024-01-03 01:44:59'",
        ),
        ("2024-01-01", "2024-01-02", "DATE '2024-01-01'", "< DATE '2024-01-03'"),
        ("2024-01-02", "2024-01-03T01:45:00", "DATE '2024-01-02'", "<= TIMESTAMP '2024-01-03 01:45:00'"),
        ("2024-01-02T04:00:00Z", "2024-01-03", "TIMESTAMP '2024-01-02 04:00:00'", "< DATE '2024-01-04'"),
    ],
)
def test_start_and_end_are_inclusive(run, wh, start, end, low, high) -> None:
    [row] = run(metrics=("actions", "sessions"), start=start, end=end)
    [(actions, sessions)] = sql(
        wh,
        "SELECT sum(actions_taken), count(DISTINCT session_id) FROM staging.stg_app__user_activities "
        f"WHERE activity_timestamp >= {low} AND activity_timestamp {high}",
    )
    assert (row["actions"], row["sessions"]) == (actions, sessions)


def test_hour_grain_periods_are_timestamps(run, wh, project) -> None:
    rows = run(metrics=("actions",), grain="hour", start="2024-01-02", end="2024-01-02")
    expected = sql(
        wh,
        "SELECT date_trunc('hour', activity_timestamp), sum(actions_taken) FROM staging.stg_app__user_activities "
        "WHERE CAST(activity_timestamp AS DATE) = DATE '2024-01-02' GROUP BY 1",
    )
    assert keyed(rows, "actions", "period") == pytest.approx(as_map(expected))
    compiled = compile_query(project, MetricQuery(metrics=("actions",), grain="hour"))
    assert [(c.name, c.type) for c in compiled.columns] == [("period", "timestamp"), ("actions", "number")]


# --- rolling windows ---------------------------------------------------------------------------------

PER_MONTH_NEW = """(SELECT s.month_start AS p, s.product_line, c.sales_region, sum(s.new_mrr) AS v
    FROM entity.entity_subscriptions_monthly AS s LEFT JOIN entity.entity_customers AS c USING (customer_id)
    GROUP BY ALL)"""


def test_rolling_three_months(run, wh) -> None:
    got = keyed(run(metrics=("new_mrr_rolling_3m",), grain="month"), "new_mrr_rolling_3m", "period")
    expected = sql(
        wh,
        """WITH per AS (SELECT month_start AS p, sum(new_mrr) AS v FROM entity.entity_subscriptions_monthly GROUP BY 1)
           SELECT a.p, sum(b.v) FROM per AS a JOIN per AS b ON b.p BETWEEN a.p - INTERVAL 2 MONTH AND a.p GROUP BY 1""",
    )
    assert got == pytest.approx(as_map(expected))


def test_rolling_three_months_by_dimensions_from_a_start(run, wh) -> None:
    dims = ("product_line", "customer.sales_region")
    got = keyed(
        run(metrics=("new_mrr_rolling_3m",), grain="month", dimensions=dims, start="2025-02-15"),
        "new_mrr_rolling_3m",
        "period",
        *dims,
    )
    expected = sql(
        wh,
        f"""WITH per AS {PER_MONTH_NEW}
            SELECT a.p, a.product_line, a.sales_region, sum(b.v) FROM per AS a JOIN per AS b
              ON b.p BETWEEN a.p - INTERVAL 2 MONTH AND a.p AND b.product_line = a.product_line
             AND b.sales_region IS NOT DISTINCT FROM a.sales_region
            WHERE a.p >= DATE '2025-02-01' GROUP BY ALL""",
    )
    assert got == pytest.approx(as_map(expected))


def test_rolling_window_with_prior_period_from_a_start(run, wh) -> None:
    rows = run(metrics=("new_mrr_rolling_3m",), grain="month", start="2025-03-01", compare="prior_period")
    full = keyed(run(metrics=("new_mrr_rolling_3m",), grain="month"), "new_mrr_rolling_3m", "period")
    assert [r["period"] for r in rows] == [p for p in sorted(full) if p >= date(2025, 3, 1)]
    for r in rows:
        p = r["period"]
        before = date(p.year - (p.month == 1), (p.month - 2) % 12 + 1, 1)
        assert r["new_mrr_rolling_3m"] == pytest.approx(full[p])
        assert r["new_mrr_rolling_3m_prior"] == pytest.approx(full[before])


SESSIONS_PER_DAY = """(SELECT d.snapshot_date AS p, t.team_type, sum(d.sessions) AS v, min(d.sessions) AS lo,
    max(d.sessions) AS hi, count(*) AS n
    FROM entity.entity_teams_daily AS d LEFT JOIN entity.entity_teams AS t USING (team_id) GROUP BY ALL)"""


@pytest.mark.parametrize("grain", ["day", "week", "month"])
def test_seven_day_windows_at_the_last_day_of_each_period(run, wh, grain) -> None:
    metrics = ("t_sessions_7d", "t_min_sessions_7d", "t_max_sessions_7d", "t_rows_7d")
    got = {
        (r["period"], r["team_type"]): tuple(r[m] for m in metrics)
        for r in run(metrics=metrics, grain=grain, dimensions=("team_type",))
    }
    expected = {
        (p, team_type): (float(v), float(lo), float(hi), float(n))
        for p, team_type, v, lo, hi, n in sql(
            wh,
            f"""WITH per AS {SESSIONS_PER_DAY},
            rolled AS (SELECT a.p, a.team_type, sum(b.v) AS v, min(b.lo) AS lo, max(b.hi) AS hi, sum(b.n) AS n
                       FROM per AS a JOIN per AS b ON b.team_type = a.team_type AND b.p BETWEEN a.p - 6 AND a.p
                       GROUP BY ALL),
            last AS (SELECT CAST(date_trunc('{grain}', p) AS DATE) AS period, team_type, max(p) AS p FROM rolled
                     GROUP BY ALL)
            SELECT last.period, last.team_type, v, lo, hi, n FROM last JOIN rolled USING (team_type, p)""",
        )
    }
    assert flat(got) == pytest.approx(flat(expected))


def test_seven_day_window_without_grain_is_its_value_on_the_last_day(run, wh) -> None:
    [row] = run(metrics=("t_sessions_7d",), start="2025-02-01", end="2025-02-20")
    [(expected,)] = sql(
        wh,
        "SELECT sum(sessions) FROM entity.entity_teams_daily WHERE snapshot_date BETWEEN DATE '2025-02-14' AND DATE '2025-02-20'",
    )
    assert row["t_sessions_7d"] == expected


def test_two_week_window_at_day_grain(run, wh) -> None:
    got = keyed(
        run(metrics=("t_sessions_2w",), grain="day", start="2025-02-01", end="2025-02-10"), "t_sessions_2w", "period"
    )
    expected = sql(
        wh,
        """WITH per AS (SELECT snapshot_date AS p, sum(sessions) AS v FROM entity.entity_teams_daily GROUP BY 1)
           SELECT a.p, sum(b.v) FROM per AS a JOIN per AS b ON b.p BETWEEN a.p - 13 AND a.p
           WHERE a.p BETWEEN DATE '2025-02-01' AND DATE '2025-02-10' GROUP BY 1""",
    )
    assert got == pytest.approx(as_map(expected))


# --- compare -----------------------------------------------------------------------------------------


def check_changes(r: dict, metric: str) -> None:
    cur, prior = r[metric], r[f"{metric}_prior"]
    if prior is None or cur is None:
        assert r[f"{metric}_change"] is None
        return
    assert r[f"{metric}_change"] == pytest.approx(cur - prior)
    if prior == 0:
        assert r[f"{metric}_change_pct"] is None
    else:
        assert r[f"{metric}_change_pct"] == pytest.approx((cur - prior) / abs(prior) * 100)


@pytest.mark.parametrize("grain", ["month", "quarter", "year"])
def test_prior_period_is_the_row_before(run, grain) -> None:
    rows = run(metrics=("new_mrr", "churned_mrr"), grain=grain, compare="prior_period")
    plain = run(metrics=("new_mrr", "churned_mrr"), grain=grain)
    assert len(rows) == len(plain) > 1
    assert rows[0]["new_mrr_prior"] is None
    for before, r, p in zip([None, *rows], rows, plain, strict=False):
        assert (r["period"], r["new_mrr"], r["churned_mrr"]) == (p["period"], p["new_mrr"], p["churned_mrr"])
        if before is not None:
            assert r["new_mrr_prior"] == before["new_mrr"]
            assert r["churned_mrr_prior"] == before["churned_mrr"]
        check_changes(r, "new_mrr")
        check_changes(r, "churned_mrr")
    assert any(r["churned_mrr_prior"] == 0 for r in rows)  # the percentage of a change from zero is NULL


def test_prior_period_by_a_dimension_that_can_be_null(run) -> None:
    rows = run(
        metrics=("expansion_mrr",),
        grain="month",
        dimensions=("customer.customer_tier",),
        compare="prior_period",
        start="2025-01-01",
    )
    plain = keyed(
        run(metrics=("expansion_mrr",), grain="month", dimensions=("customer.customer_tier",)),
        "expansion_mrr",
        "period",
        "customer.customer_tier",
    )
    assert rows and min(r["period"] for r in rows) == date(2025, 1, 1)
    assert any(r["customer.customer_tier"] is None for r in rows)
    for r in rows:
        p, tier = r["period"], r["customer.customer_tier"]
        before = date(p.year - (p.month == 1), (p.month - 2) % 12 + 1, 1)
        assert r["expansion_mrr_prior"] == plain.get((before, tier)), (p, tier)
        check_changes(r, "expansion_mrr")


def test_prior_year_by_month_from_a_start(run) -> None:
    rows = run(metrics=("new_mrr",), grain="month", compare="prior_year", start="2025-02-01", end="2025-05-31")
    plain = keyed(run(metrics=("new_mrr",), grain="month"), "new_mrr", "period")
    assert [r["period"] for r in rows] == [date(2025, m, 1) for m in range(2, 6)]
    for r in rows:
        p = r["period"]
        assert r["new_mrr"] == plain[p]
        assert r["new_mrr_prior"] == plain[date(p.year - 1, p.month, 1)]
        check_changes(r, "new_mrr")


def test_prior_year_by_week_is_52_weeks_back(run) -> None:
    rows = run(metrics=("actions",), grain="week", compare="prior_year", start="2025-01-06", end="2025-02-16")
    plain = keyed(run(metrics=("actions",), grain="week"), "actions", "period")
    assert [r["period"] for r in rows] == [date(2025, 1, 6) + timedelta(weeks=i) for i in range(6)]
    for r in rows:
        assert r["actions_prior"] == plain[r["period"] - timedelta(weeks=52)]
        assert r["period"].weekday() == 0  # ISO weeks start on Monday


def test_prior_period_from_a_start_within_a_period(run, wh) -> None:
    rows = run(
        metrics=("team_active_user_days",),
        grain="month",
        compare="prior_period",
        start="2025-02-10",
        end="2025-03-31",
    )
    month = as_map(
        sql(
            wh,
            "SELECT CAST(date_trunc('month', snapshot_date) AS DATE), sum(active_users) FROM entity.entity_teams_daily "
            "GROUP BY 1",
        )
    )
    [(from_start,)] = sql(
        wh,
        "SELECT sum(active_users) FROM entity.entity_teams_daily WHERE snapshot_date BETWEEN '2025-02-10' AND '2025-02-28'",
    )
    assert [r["period"] for r in rows] == [date(2025, 2, 1), date(2025, 3, 1)]
    # February counts from start; its prior is the whole of January; March's prior is the February shown
    assert [r["team_active_user_days"] for r in rows] == [from_start, month[date(2025, 3, 1)]]
    assert [r["team_active_user_days_prior"] for r in rows] == [month[date(2025, 1, 1)], from_start]


def test_prior_period_by_hour(run, wh) -> None:
    rows = run(
        metrics=("device_events",),
        grain="hour",
        compare="prior_period",
        start="2025-03-02T22:00:00",
        end="2025-03-03T02:00:00",
    )
    hourly = as_map(sql(wh, "SELECT grain_timestamp, sum(event_count) FROM entity.entity_devices_hourly GROUP BY 1"))
    assert [r["period"] for r in rows] == [datetime(2025, 3, 2, 22) + timedelta(hours=h) for h in range(5)]
    for r in rows:
        assert (r["device_events"], r["device_events_prior"]) == (
            hourly[r["period"]],
            hourly[r["period"] - timedelta(hours=1)],
        )


def test_prior_period_by_day_from_a_start(run) -> None:
    rows = run(metrics=("team_active_user_days",), grain="day", compare="prior_period", start="2025-03-01")
    plain = keyed(run(metrics=("team_active_user_days",), grain="day"), "team_active_user_days", "period")
    assert rows[0]["period"] == date(2025, 3, 1)
    for r in rows:
        assert r["team_active_user_days_prior"] == plain[r["period"] - timedelta(days=1)]


# --- fill --------------------------------------------------------------------------------------------

SESSIONS_BY_MONTH = """SELECT CAST(date_trunc('month', activity_timestamp) AS DATE), count(DISTINCT session_id)
    FROM staging.stg_app__user_activities GROUP BY 1"""


@pytest.mark.parametrize("fill", ["null", "zero"])
def test_fill_makes_every_period_between_start_and_end(run, wh, fill) -> None:
    rows = run(metrics=("sessions",), grain="month", start="2025-01-15", end="2025-06-10", fill=fill)
    data = as_map(
        sql(wh, SESSIONS_BY_MONTH.replace("GROUP BY 1", "WHERE activity_timestamp >= DATE '2025-01-15' GROUP BY 1"))
    )
    missing = None if fill == "null" else 0
    assert [(r["period"], r["sessions"]) for r in rows] == [
        (date(2025, m, 1), data.get(date(2025, m, 1), missing)) for m in range(1, 7)
    ]
    assert rows[2]["sessions"] == missing and rows[5]["sessions"] == missing  # March and June had no activity


def test_fill_by_hour(run, wh) -> None:
    # no kiosk is online at 03:00, 07:00 and 11:00
    rows = run(
        metrics=("online_devices",),
        grain="hour",
        where="device_type = 'kiosk'",
        start="2025-03-01T00:00:00",
        end="2025-03-01T11:00:00",
        fill="zero",
    )
    data = as_map(
        sql(
            wh,
            """SELECT h.grain_timestamp, count(DISTINCT h.device_id) FROM entity.entity_devices_hourly AS h
           JOIN entity.entity_devices AS d USING (device_id) WHERE d.device_type = 'kiosk' AND h.is_online
           GROUP BY 1""",
        )
    )
    hours = [datetime(2025, 3, 1, h) for h in range(12)]
    assert [(r["period"], r["online_devices"]) for r in rows] == [(h, data.get(h, 0)) for h in hours]
    assert [r["online_devices"] for r in rows if r["period"].hour in (3, 7, 11)] == [0, 0, 0]


def test_fill_without_bounds_spans_the_data(run, wh) -> None:
    rows = run(metrics=("sessions",), grain="month", fill="null")
    data = as_map(sql(wh, SESSIONS_BY_MONTH))
    periods = [r["period"] for r in rows]
    assert periods[0] == min(data) and periods[-1] == max(data)
    assert len(periods) == 17 and len(data) == 16
    assert all(r["sessions"] == data.get(r["period"]) for r in rows)


@pytest.mark.parametrize(("start", "end"), [("2024-12-01", None), (None, "2025-03-31")])
def test_fill_with_one_bound(run, wh, start, end) -> None:
    rows = run(metrics=("sessions",), grain="month", fill="zero", start=start, end=end)
    data = as_map(sql(wh, SESSIONS_BY_MONTH))
    # a range open on one side is bounded on both by the data inside it (a far start or end adds nothing)
    inside = [p for p in data if (not start or p >= date(2024, 12, 1)) and (not end or p <= date(2025, 3, 1))]
    lo, hi = min(inside), max(inside)
    assert rows[0]["period"] == lo and rows[-1]["period"] == hi
    assert all(r["sessions"] == data.get(r["period"], 0) for r in rows)


def test_fill_by_dimension_with_compare(run, wh) -> None:
    rows = run(
        metrics=("new_mrr",),
        grain="quarter",
        dimensions=("product_line",),
        compare="prior_period",
        fill="zero",
        start="2024-07-01",
        end="2025-06-30",
    )
    data = as_map(
        sql(
            wh,
            "SELECT CAST(date_trunc('quarter', month_start) AS DATE), product_line, sum(new_mrr) "
            "FROM entity.entity_subscriptions_monthly GROUP BY ALL",
        )
    )
    lines = {pl for _, pl in data}
    quarters = [date(2024, 7, 1), date(2024, 10, 1), date(2025, 1, 1), date(2025, 4, 1)]
    assert sorted((r["period"], r["product_line"]) for r in rows) == sorted((q, pl) for q in quarters for pl in lines)
    for r in rows:
        key = (r["period"], r["product_line"])
        before = date(r["period"].year - (r["period"].month == 1), (r["period"].month - 4) % 12 + 1, 1)
        assert r["new_mrr"] == data.get(key, 0)
        # the periods are filled before they are compared: a missing period is 0, and so is its prior
        assert r["new_mrr_prior"] == data.get((before, r["product_line"]), 0)


# --- where, order, limit, offset, caching ------------------------------------------------------------


def test_where_by_dimension_and_the_cached_shape_binds_new_values(run, wh, project) -> None:
    project.cache.clear()
    first = compile_query(project, MetricQuery(metrics=("mrr",), grain="month", where="customer_tier = 'x'"))
    assert not first.cached
    for tiers in (("growth", "enterprise"), ("starter", "free")):
        where = f"customer_tier IN ('{tiers[0]}', '{tiers[1]}')"
        got = keyed(run(metrics=("mrr",), grain="month", where=where, cached=True), "mrr", "period")
        source = f"(SELECT * FROM {ACTIVE} WHERE customer_tier IN ('{tiers[0]}', '{tiers[1]}'))"
        assert got == pytest.approx(as_map(sql(wh, last_snapshot("month", "", source))))
    again = compile_query(project, MetricQuery(metrics=("mrr",), grain="month", where="customer_tier IN ('a', 'b')"))
    assert again.cached and again.params["p0"] == "a" and again.params["p1"] == "b"


def test_where_on_a_joined_dimension_with_numbers_and_dates(run, wh) -> None:
    [row] = run(metrics=("t_customers",), where="seats > -1 AND seats < 20 AND signup_date >= DATE '2024-03-01'")
    [(n,)] = sql(
        wh, "SELECT count(*) FROM entity.entity_customers WHERE seats < 20 AND signup_date >= DATE '2024-03-01'"
    )
    assert row["t_customers"] == n
    [row] = run(
        metrics=("t_customers",), where="seats >= -3.5 AND NOT customer_tier LIKE '%er%' AND churn_date IS NULL"
    )
    [(n,)] = sql(
        wh, "SELECT count(*) FROM entity.entity_customers WHERE customer_tier NOT LIKE '%er%' AND churn_date IS NULL"
    )
    assert row["t_customers"] == n
    got = keyed(
        run(metrics=("new_mrr",), grain="month", where="customer.customer_tier = 'growth'"), "new_mrr", "period"
    )
    expected = sql(wh, SUBS_BY_TIER.replace("GROUP BY ALL", "WHERE c.customer_tier = 'growth' GROUP BY ALL"))
    assert got == pytest.approx({p: float(n) for p, _, n, *_ in expected})


def test_order_limit_and_offset(run, project) -> None:
    everything = run(metrics=("new_mrr",), grain="month", dimensions=("product_line",))
    assert [(r["period"], r["product_line"]) for r in everything] == sorted(
        (r["period"], r["product_line"]) for r in everything
    )
    by_value = run(
        metrics=("new_mrr",), grain="month", dimensions=("product_line",), order=("-new_mrr", "product_line")
    )
    assert [r["new_mrr"] for r in by_value] == sorted((r["new_mrr"] for r in everything), reverse=True)
    top = sorted(everything, key=lambda r: (-r["new_mrr"], r["product_line"], r["period"]))
    assert by_value == top
    by_line = run(metrics=("new_mrr",), grain="month", dimensions=("product_line",), order=("product_line", "-period"))
    assert by_line == sorted(everything, key=lambda r: (r["product_line"], -r["period"].toordinal()))
    page = run(
        metrics=("new_mrr",), grain="month", dimensions=("product_line",), order=("-new_mrr",), limit=5, offset=3
    )
    assert len(page) == 6  # one more than asked: the caller can tell the answer was cut
    assert [r["new_mrr"] for r in page] == [r["new_mrr"] for r in top[3:9]]
    compiled = compile_query(project, MetricQuery(metrics=("new_mrr",), limit=5, offset=3))
    assert compiled.params["lim"] == 6 and compiled.params["off"] == 3 and compiled.limit == 5
    with pytest.raises(
        InvalidQuery, match=r"Cannot order by 'mrr': not a column of the result\. Did you mean 'new_mrr'"
    ):
        run(metrics=("new_mrr",), grain="month", order=("mrr",))


# --- the compiled query's other faces ----------------------------------------------------------------


def test_inlined_sql_gives_the_same_rows_as_the_parameters(project, wh) -> None:
    query = MetricQuery(
        metrics=("mrr", "arr"),
        grain="month",
        dimensions=("customer_tier",),
        where="customer_tier <> 'free'",
        start="2025-02-01",
        end="2025-05-31",
        limit=7,
        offset=1,
    )
    compiled = compile_query(project, query)
    assert wh.execute(compiled.sql("duckdb")).fetchall() == wh.execute(compiled.duckdb_sql, compiled.params).fetchall()
    for dialect in DIALECTS:
        text = compiled.sql(dialect, pretty=True)
        assert "$" not in text and "'2025-02-01'" in text and "'free'" in text
        assert len(sqlglot.parse(text, read=dialect)) == 1
    assert compiled.sql("duckdb", pretty=True).count("\n") > 20
    with pytest.raises(InvalidQuery, match=r"Unknown dialect 'snowflak'\. Did you mean 'snowflake'\?"):
        compiled.sql("snowflak")


def test_compiled_query_describes_what_it_reads(project) -> None:
    compiled = compile_query(project, MetricQuery(metrics=("arpa",), grain="month"))
    assert [m.name for m in compiled.metrics] == ["arpa"]
    assert [m.name for m in compiled.base_metrics] == ["mrr", "active_customers"]
    assert compiled.project is project
    assert compiled.template.tables == frozenset({"entity.entity_customers_daily"})
    assert compiled.tree.sql("duckdb") == compiled.duckdb_sql
    joined = compile_query(project, MetricQuery(metrics=("sessions",), dimensions=("team.customer.sales_region",)))
    assert joined.template.tables == {  # teams and customers have histories: read as of each activity
        "staging.stg_app__user_activities",
        "entity.entity_users",
        "entity.entity_teams_history",
        "entity.entity_customers_history",
    }


@pytest.mark.parametrize(
    "query",
    [
        MetricQuery(metrics=("mrr", "arpa"), grain="quarter", dimensions=("customer_tier",), compare="prior_period"),
        MetricQuery(metrics=("arpa",), grain="month", where="sales_region <> 'emea'", tz="America/New_York"),
        MetricQuery(metrics=("sessions",), grain="week", where="team.customer.sales_region IN ('emea', 'na')"),
        MetricQuery(metrics=("sessions",), dimensions=("customer.customer_tier@current",), grain="month"),
        MetricQuery(metrics=("daily_active_users",), grain="week", dimensions=("team.customer.sales_region",)),
        MetricQuery(metrics=("team_health_score",), grain="month", dimensions=("customer.customer_tier",)),
        MetricQuery(
            metrics=("subscription_mrr",),
            grain="month",
            dimensions=("customer.customer_segment",),
            compare="prior_period",
            compare_to="same_days",
            start="2025-01-10",
        ),
        MetricQuery(metrics=("device_events",), grain="hour", dimensions=("device_type",), tz="Europe/Paris"),
    ],
    ids=lambda q: "-".join(q.metrics),
)
def test_the_tables_a_query_reads_are_those_its_sql_names(project, query: MetricQuery) -> None:
    """What deprecations and data status are told the query reads: every table its SQL text names, read back."""
    compiled = compile_query(project, query)
    tree = sqlglot.parse_one(compiled.duckdb_sql, read="duckdb")
    named = {f"{t.db}.{t.name}".lower() for t in tree.find_all(exp.Table) if t.db}
    assert named and compiled.template.tables == named


def test_output_types_of_dimensions(project, root: Path) -> None:
    compiled = compile_query(
        project,
        MetricQuery(
            metrics=("t_customers",),
            dimensions=("customer_tier", "signup_date", "seats", "churn_date", "monthly_recurring_revenue"),
        ),
    )
    assert [c.type for c in compiled.columns] == ["string", "date", "number", "date", "number", "number"]
    teams = compile_query(project, MetricQuery(metrics=("t_teams",), dimensions=("is_active", "team_size")))
    assert [c.type for c in teams.columns] == ["boolean", "number", "number"]
    joined = compile_query(
        project, MetricQuery(metrics=("sessions",), grain="day", dimensions=("customer.customer_tier",))
    )
    assert [(c.name, c.type) for c in joined.columns] == [
        ("period", "date"),
        ("customer.customer_tier", "string"),
        ("sessions", "number"),
    ]
    # without a database the declared types answer
    files = read_definition_files(root)
    files["metrics/zz.yml"] = (
        "version: 2\nmetrics:\n  - {name: t_signups, model: \"ref('entity_customers')\", calculation_method: count,"
        " dimensions: [signup_date, customer_tier]}\n"
    )
    declared = compile_query(
        load_texts(files), MetricQuery(metrics=("t_signups",), dimensions=("signup_date", "customer_tier"))
    )
    assert [c.type for c in declared.columns] == ["date", "string", "number"]
    files["entities/zz.yml"] = (
        "version: 2\nentities:\n  - name: t_shop\n    primary_key: customer_id\n"
        "    tables: {current: entity.entity_customers}\n"
        "    dimensions: [{name: seats, type: integer}, {name: churn_date, type: date}]\n"
    )
    files["metrics/zz2.yml"] = (
        "version: 2\nmetrics:\n  - {name: t_shop_count, entity: t_shop, calculation_method: count,"
        " dimensions: [seats, churn_date]}\n"
    )
    undeclared = load_texts(files)
    shop = compile_query(undeclared, MetricQuery(metrics=("t_shop_count",), dimensions=("seats", "churn_date")))
    assert [c.type for c in shop.columns] == ["number", "date", "number"]
    # a column that no entity declares (legacy customer_facts.tier): nothing is known, so a string
    facts = compile_query(undeclared, MetricQuery(metrics=("arr_by_customer",), dimensions=("tier",)))
    assert [c.type for c in facts.columns] == ["string", "number"]


RESOLVABLE = [
    {
        "metrics": ("mrr", "new_mrr", "arpa"),
        "grain": "month",
        "compare": "prior_period",
        "fill": "zero",
        "start": "2025-01-01",
        "end": "2025-03-01",
    },
    {
        "metrics": ("new_mrr_rolling_3m",),
        "grain": "month",
        "dimensions": ("product_line",),
        "start": "2025-01-01",
        "compare": "prior_year",
    },
    {"metrics": ("t_sessions_7d", "t_last_per_customer"), "grain": "month"},
    {"metrics": ("t_sessions_7d",), "dimensions": ("team_type",), "end": "2025-02-01"},
    {
        "metrics": ("sessions", "daily_active_users"),
        "grain": "week",
        "where": "user_role = 'admin'",
        "dimensions": ("team.customer.sales_region", "user_role"),
        "order": ("-sessions",),
        "limit": 5,
        "fill": "null",
    },
    {"metrics": ("mrr", "t_first_mrr"), "dimensions": ("customer_tier",)},
    {
        "metrics": ("device_error_rate", "online_devices"),
        "grain": "hour",
        "dimensions": ("location.customer.sales_region",),
    },
    {"metrics": tuple(FILTERS)},
]


@pytest.mark.parametrize("query", RESOLVABLE)
def test_every_name_resolves_with_its_exact_spelling(project, wh, query) -> None:
    """The SQL is also served for engines where quoted names are case-sensitive (Postgres, Snowflake): every
    table, alias and column a query names must exist with that exact spelling (DuckDB alone would not tell)."""
    schema: dict = {}
    for table, columns in read_catalog(wh).items():
        db, name = table.split(".")
        schema.setdefault(db, {})[name] = columns
    tree = compile_query(project, MetricQuery(**query)).tree.copy()
    qualify(tree, schema=schema, dialect="postgres", validate_qualify_columns=True)
    # a join without a condition says CROSS (engines other than DuckDB refuse a bare JOIN)
    for join in tree.find_all(exp.Join):
        assert join.args.get("on") is not None or join.args.get("kind") == "CROSS", join.sql()


def test_rows_of_the_last_snapshot_are_all_counted(run, wh) -> None:
    got = keyed(
        run(metrics=("t_snapshot_rows",), grain="quarter", dimensions=("customer_segment",)),
        "t_snapshot_rows",
        "period",
        "customer_segment",
    )
    expected = sql(
        wh,
        """WITH l AS (SELECT CAST(date_trunc('quarter', snapshot_date) AS DATE) AS p, max(snapshot_date) AS d
                      FROM entity.entity_customers_daily GROUP BY 1)
           SELECT l.p, a.customer_segment, count(*) FROM l JOIN entity.entity_customers_daily AS a
           ON a.snapshot_date = l.d GROUP BY ALL""",
    )
    assert got == pytest.approx(as_map(expected))
    assert max(got.values()) > 1  # rows alike in every column still count once each


def test_a_dimension_of_the_own_entity_beside_a_joined_one(run, wh) -> None:
    got = keyed(
        run(metrics=("t_device_rows",), dimensions=("customer_id", "location.customer.sales_region")),
        "t_device_rows",
        "customer_id",
        "location.customer.sales_region",
    )
    expected = sql(
        wh,
        """SELECT d.customer_id, c.sales_region, count(*) FROM entity.entity_devices_hourly AS h
           LEFT JOIN entity.entity_devices AS d ON d.device_id = h.device_id
           LEFT JOIN entity.entity_locations AS l ON l.location_id = h.location_id
           LEFT JOIN entity.entity_customers AS c ON c.customer_id = l.customer_id GROUP BY ALL""",
    )
    assert got == pytest.approx(as_map(expected))


def test_count_of_a_column_skips_nulls(run, wh) -> None:
    got = keyed(run(metrics=("t_churn_dates",), dimensions=("customer_tier",)), "t_churn_dates", "customer_tier")
    expected = sql(wh, "SELECT customer_tier, count(churn_date) FROM entity.entity_customers GROUP BY 1")
    assert got == pytest.approx(as_map(expected))
    assert sum(got.values()) == 1


def test_a_derived_metric_over_a_derived_metric(run, wh) -> None:
    got = keyed(
        run(metrics=("team_health_score",), grain="month", dimensions=("team_type",)),
        "team_health_score",
        "period",
        "team_type",
    )
    expected = sql(
        wh,
        """SELECT CAST(date_trunc('month', d.snapshot_date) AS DATE), t.team_type,
                  0.4 * (100.0 * sum(d.active_users) / nullif(sum(d.team_size), 0))
                  + 30 * avg(d.feature_adoption_score) + 30 * avg(d.collaboration_index)
           FROM entity.entity_teams_daily AS d LEFT JOIN entity.entity_teams AS t USING (team_id) GROUP BY ALL""",
    )
    assert got == pytest.approx(as_map(expected))


def test_rolling_window_with_prior_year_from_a_start(run) -> None:
    rows = run(
        metrics=("new_mrr_rolling_3m",), grain="month", start="2025-03-01", end="2025-05-31", compare="prior_year"
    )
    full = keyed(run(metrics=("new_mrr_rolling_3m",), grain="month"), "new_mrr_rolling_3m", "period")
    assert [r["period"] for r in rows] == [date(2025, m, 1) for m in (3, 4, 5)]
    for r in rows:
        assert r["new_mrr_rolling_3m"] == pytest.approx(full[r["period"]])
        assert r["new_mrr_rolling_3m_prior"] == pytest.approx(full[r["period"].replace(year=2024)])


def test_nulls_sort_last(run) -> None:
    rows = run(metrics=("new_mrr",), grain="year", dimensions=("customer.customer_tier",))
    for year in {r["period"] for r in rows}:
        tiers = [r["customer.customer_tier"] for r in rows if r["period"] == year]
        assert None in tiers and tiers[-1] is None and tiers[:-1] == sorted(tiers[:-1])
    by_tier = run(
        metrics=("new_mrr",),
        grain="year",
        dimensions=("customer.customer_tier",),
        order=("-customer.customer_tier", "period"),
    )
    assert [r["customer.customer_tier"] for r in by_tier][-2:] == [None, None]
    mixed = run(metrics=("mrr", "new_mrr"), grain="month", order=("-mrr",))
    values = [r["mrr"] for r in mixed]
    assert values[0] is not None and values[-1] is None
    assert values.index(None) == len([v for v in values if v is not None])


def test_the_default_text_is_duckdb_on_one_line(project, wh) -> None:
    compiled = compile_query(project, MetricQuery(metrics=("mrr",), grain="week", start="2025-03-01", limit=3))
    text = compiled.sql()
    assert text == compiled.sql("duckdb") and "\n" not in text
    assert wh.execute(text).fetchall() == wh.execute(compiled.duckdb_sql, compiled.params).fetchall()


def test_bigquery_truncates_to_iso_weeks(project) -> None:
    compiled = compile_query(project, MetricQuery(metrics=("sessions",), grain="week", start="2025-01-01"))
    tree = sqlglot.parse_one(compiled.sql("bigquery"), read="bigquery")
    truncs = list(tree.find_all(exp.DateTrunc, exp.TimestampTrunc, exp.DatetimeTrunc))
    assert truncs and all(t.text("unit").upper() == "ISOWEEK" and t.this is not None for t in truncs)
    monthly = compile_query(project, MetricQuery(metrics=("sessions",), grain="month")).sql("bigquery")
    assert "ISOWEEK" not in monthly


def test_cast_builds_each_type_once_and_hands_out_copies(monkeypatch) -> None:
    from app.compiler import build

    monkeypatch.setattr(build, "_TYPES", {})
    first = build.cast(exp.column("a"), "DATE")
    second = build.cast(exp.column("b"), "DATE")
    assert first.sql() == "CAST(a AS DATE)" and second.sql() == "CAST(b AS DATE)"
    assert first.to is not second.to and list(build._TYPES) == ["DATE"]


@pytest.mark.parametrize("fill", ["null", "zero"])
def test_a_filled_window_rolls_over_empty_months(run, wh, fill) -> None:
    rows = run(
        metrics=("new_mrr_rolling_3m",),
        grain="month",
        dimensions=("product_line",),
        start="2025-01-01",
        end="2025-09-30",
        fill=fill,
    )
    trailing = sql(
        wh,
        """WITH per AS (SELECT month_start AS p, product_line, sum(new_mrr) AS v
                        FROM entity.entity_subscriptions_monthly GROUP BY ALL),
           lines AS (SELECT DISTINCT product_line FROM per WHERE p >= DATE '2024-10-01'),
           months AS (SELECT CAST(range AS DATE) AS m FROM range(DATE '2025-01-01', DATE '2025-10-01', INTERVAL 1 MONTH))
           SELECT months.m, lines.product_line, sum(per.v) FROM months CROSS JOIN lines
           LEFT JOIN per ON per.product_line = lines.product_line AND per.p BETWEEN months.m - INTERVAL 2 MONTH AND months.m
           GROUP BY ALL""",
    )
    expected = {(m, line): (0.0 if fill == "zero" else None) if v is None else float(v) for m, line, v in trailing}
    got = keyed(rows, "new_mrr_rolling_3m", "period", "product_line")
    assert flat(got) == pytest.approx(flat(expected))
    # no data after June, yet July's trailing window holds May and June (0 new MRR, not "no value")
    assert got[(date(2025, 7, 1), "core")] == 0


def test_a_filter_on_a_joined_dimension(run, wh) -> None:
    got = keyed(run(metrics=("t_growth_new_mrr",), grain="quarter"), "t_growth_new_mrr", "period")
    expected = sql(
        wh,
        """SELECT CAST(date_trunc('quarter', s.month_start) AS DATE), sum(s.new_mrr)
           FROM entity.entity_subscriptions_monthly AS s JOIN entity.entity_customers AS c USING (customer_id)
           WHERE c.customer_tier = 'growth' GROUP BY 1""",
    )
    assert got == pytest.approx(as_map(expected))


def test_where_values_outside_the_accepted_ones_are_warned_about(project) -> None:
    where = (
        "customer_tier IN ('growth', 'gold') AND 'platinum' <> customer_tier AND sales_region = 'EMEA'"
        " AND country = 'Atlantis' AND customer_segment = 'SMB'"
    )
    compiled = compile_query(project, MetricQuery(metrics=("mrr", "arpa"), grain="month", where=where))
    assert compiled.warnings == (
        "where compares 'customer_tier' with 'gold', which is not one of its accepted values "
        "(free, starter, growth, enterprise): no row can match it.",
        "where compares 'customer_tier' with 'platinum', which is not one of its accepted values "
        "(free, starter, growth, enterprise): no row can match it.",
    )
    again = compile_query(
        project, MetricQuery(metrics=("mrr", "arpa"), grain="month", where=where.replace("gold", "free"))
    )
    assert again.cached and len(again.warnings) == 1 and "'platinum'" in again.warnings[0]
    joined = compile_query(project, MetricQuery(metrics=("new_mrr",), where="customer.sales_region = 'Mars'"))
    assert joined.warnings == (
        "where compares 'customer.sales_region' with 'Mars', which is not one of its accepted values "
        "(NA, EMEA, APAC, LATAM): no row can match it.",
    )
    assert compile_query(project, MetricQuery(metrics=("mrr",), where="customer_tier = 'growth'")).warnings == ()
    assert compile_query(project, MetricQuery(metrics=("mrr",))).warnings == ()


@pytest.mark.parametrize("negate", [False, True])
def test_in_lists_of_every_length_count_the_rows_they_name(run, wh, negate) -> None:
    """An IN list is padded to a power of two with its last value (shape.py); each length's answer, IN and NOT IN,
    is the hand-written query's."""
    values = [r[0] for r in sql(wh, "SELECT DISTINCT country FROM entity.entity_customers WHERE country IS NOT NULL")]
    candidates = ["nowhere", *sorted(values), "elsewhere", "nowhere"]  # unknown values and a repeat too
    assert len(values) >= 2
    for n in range(1, len(candidates) + 1):
        listed = ", ".join(f"'{v}'" for v in candidates[:n])
        condition = f"country {'NOT ' if negate else ''}IN ({listed})"
        [row] = run(metrics=("t_customers",), where=condition, cached=True)
        [(expected,)] = sql(wh, f"SELECT count(*) FROM entity.entity_customers WHERE {condition}")
        assert row["t_customers"] == expected, condition


def test_in_lists_of_lengths_in_one_power_of_two_share_a_compiled_shape(project) -> None:
    project.cache.clear()
    shapes = {}
    for n in range(2, 17):
        listed = ", ".join(f"'v{k}'" for k in range(n))
        compiled = compile_query(project, MetricQuery(metrics=("t_customers",), where=f"country IN ({listed})"))
        shapes.setdefault(compiled.cached, []).append(n)
        assert compiled.sql().count("'v") == n  # the SQL to read names each value once
    assert shapes[False] == [2, 3, 5, 9]  # a new shape at 2, 3-4, 5-8 and 9-16 values
