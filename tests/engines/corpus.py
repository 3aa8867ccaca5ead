"""The cross-engine corpus: queries covering every calculation method, semi-additive snapshots, windows,
derived metrics, compare, fill, joined, point-in-time and computed dimensions, time zones and calendars; and the
comparison of two engines' answers to the cent."""

from __future__ import annotations

from typing import Any

CORPUS: list[dict[str, Any]] = [
    # sums, distinct counts, averages, medians: by each grain
    {"metrics": "mrr", "grain": "month"},
    {"metrics": "mrr", "grain": "quarter", "dimensions": "customer_tier"},
    {"metrics": "arr", "grain": "year"},
    {"metrics": "active_customers", "grain": "month", "dimensions": "sales_region"},
    {"metrics": "customer_lifetime_value", "grain": "month"},
    {"metrics": "subscription_mrr", "grain": "quarter", "dimensions": "customer.customer_segment"},
    {"metrics": "device_events", "grain": "day", "dimensions": "device_type", "start": "2026-10-20"},
    {"metrics": "online_devices", "grain": "day", "start": "2026-10-20"},
    {"metrics": "device_uptime_pct", "grain": "day", "start": "2026-10-20"},
    {"metrics": "device_events", "grain": "hour", "start": "2026-10-30", "dimensions": "location.city"},
    {"metrics": "daily_active_users", "grain": "week", "dimensions": "team.customer.sales_region"},
    {"metrics": "team_size", "grain": "week"},
    {"metrics": "legacy_paying_customers", "grain": "month"},
    {"metrics": "mrr", "dimensions": "customer_tier"},  # no grain: one total per tier
    # derived metrics (ratios of integers: no integer division) and windows
    {"metrics": "arpa", "grain": "month"},
    {"metrics": "net_new_mrr,new_mrr,churned_mrr", "grain": "month"},
    {"metrics": "new_mrr_rolling_3m", "grain": "month"},
    {"metrics": "device_error_rate", "grain": "week"},
    {"metrics": "sessions,actions,actions_per_session", "grain": "day", "dimensions": "feature", "start": "2026-10-01"},
    {"metrics": "active_user_percentage", "grain": "month"},
    {"metrics": "team_health_score", "grain": "month", "dimensions": "customer.customer_tier"},
    # compare and fill
    {"metrics": "mrr", "grain": "month", "compare": "prior_year"},
    {"metrics": "mrr", "grain": "month", "compare": "prior_period", "start": "2025-01-01"},
    {"metrics": "actions", "grain": "week", "compare": "prior_period", "compare_to": "same_days", "end": "2026-10-28"},
    {
        "metrics": "device_events",
        "grain": "day",
        "fill": "zero",
        "start": "2026-10-18",
        "where": "device_type = 'kiosk'",
    },
    {"metrics": "new_mrr", "grain": "month", "fill": "null", "dimensions": "product_line", "start": "2024-06-01"},
    # a fill's spine between both bounds: the bounds' truncation nests in the spine's (a rewrite at every depth)
    {"metrics": "device_events", "grain": "day", "fill": "zero", "start": "2026-10-20", "end": "2026-10-25"},
    {"metrics": "device_events", "grain": "hour", "fill": "null", "start": "2026-10-30", "end": "2026-10-31"},
    {
        "metrics": "actions",
        "grain": "day",
        "tz": "Asia/Kolkata",
        "fill": "zero",
        "start": "2026-10-10",
        "end": "2026-10-20",
    },
    # where: every form, on the table's own and on joined dimensions
    # an IN list of 3 runs padded to 4 with its last value (shape.py)
    {"metrics": "mrr", "grain": "month", "where": "customer_tier IN ('enterprise', 'growth', 'starter')"},
    {"metrics": "mrr", "grain": "quarter", "where": "sales_region LIKE 'EM%' OR sales_region IS NULL"},
    {"metrics": "subscription_mrr", "grain": "month", "where": "NOT customer.customer_tier = 'starter'"},
    {"metrics": "device_events", "grain": "week", "where": "device_type BETWEEN 'a' AND 'm'"},
    {"metrics": "mrr", "grain": "quarter", "where": "customer_segment LIKE 'Mid\\-%' OR customer_segment LIKE '%-%'"},
    # point in time, @current, computed dimensions
    {"metrics": "subscription_mrr", "grain": "month", "dimensions": "customer.customer_tier@current"},
    {"metrics": "mrr", "grain": "month", "dimensions": "signup_cohort", "start": "2025-06-01"},
    {"metrics": "team_size", "grain": "month", "dimensions": "team_size_band"},
    # time zones and calendars
    {"metrics": "mrr", "grain": "month", "tz": "Europe/Berlin"},
    {"metrics": "actions", "grain": "hour", "tz": "Europe/Berlin", "start": "2026-10-24", "end": "2026-10-26"},
    {"metrics": "sessions", "grain": "day", "tz": "America/Sao_Paulo", "start": "2026-10-01"},
    {"metrics": "actions", "grain": "day", "tz": "Asia/Kolkata", "start": "2026-10-10", "fill": "zero"},
    {"metrics": "mrr", "grain": "fiscal_quarter", "fiscal_year_start": 2},
    {"metrics": "arr", "grain": "fiscal_year", "fiscal_year_start": 7, "compare": "prior_year"},
    {"metrics": "actions", "grain": "week", "week_start": "sunday"},
    # order, limit, offset (rows compared in order)
    {"metrics": "actions", "grain": "month", "order": "-actions", "limit": 3},
    {
        "metrics": "mrr",
        "grain": "month",
        "dimensions": "customer_tier",
        "order": "customer_tier,-period",
        "limit": 7,
        "offset": 2,
    },
    # NOT IN over a joined dimension, its list of 3 padded to 4
    {"metrics": "subscription_mrr", "grain": "quarter", "where": "customer.customer_tier NOT IN ('free', 'x', 'y')"},
]


def assert_same_to_the_cent(got: list[dict[str, Any]], expected: list[dict[str, Any]], *, ordered: bool) -> None:
    """Row for row (sorted by their periods and dimension values unless ``ordered``), numbers within half a cent."""
    if not ordered:
        got, expected = sorted(got, key=_labels), sorted(expected, key=_labels)
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        assert a.keys() == b.keys()
        for column in a:
            x, y = a[column], b[column]
            if isinstance(x, float) or isinstance(y, float):
                assert x is not None and y is not None and abs(x - y) <= 0.005, (column, a, b)
            else:
                assert x == y, (column, a, b)


def _labels(row: dict[str, Any]) -> tuple[str, ...]:
    return tuple(repr(v) for v in row.values() if not isinstance(v, float))
