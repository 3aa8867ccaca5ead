"""calculation_method: median answers the median (not the average), checked against hand-written SQL.

No shipped metric uses median, so the test serves a copy of the project with one added.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from app.api.main import create_app
from app.settings import Settings
from tests.api.conftest import app_client

MEDIAN_METRIC = """\
version: 2
metrics:
  - name: median_subscription_mrr
    description: The median MRR of one subscription-month in the period.
    model: ref('entity_subscriptions_monthly')
    calculation_method: median
    expression: mrr
    timestamp: month_start
    time_grains: [month, quarter]
    dimensions: [product_line]
"""
CASES = [  # query parameters, the keys of the hand-written GROUP BY
    ({"grain": "month"}, ["period"], "date_trunc('month', month_start)::DATE"),
    ({"grain": "quarter"}, ["period"], "date_trunc('quarter', month_start)::DATE"),
    (
        {"grain": "month", "dimensions": "product_line"},
        ["period", "product_line"],
        "date_trunc('month', month_start)::DATE, product_line",
    ),
]


def by_keys(con: duckdb.DuckDBPyConnection, keys: str, aggregate: str) -> dict[tuple, float]:
    sql = f"SELECT {keys}, {aggregate}(mrr) FROM entity.entity_subscriptions_monthly GROUP BY ALL"
    return {tuple(str(k) for k in row[:-1]): float(row[-1]) for row in con.execute(sql).fetchall()}


def test_median_metric_is_the_median(project_copy: Path, demo_copy: Path, oracle) -> None:
    (project_copy / "metrics" / "zz_median.yml").write_text(MEDIAN_METRIC)
    settings = Settings(database=demo_copy, project_dir=project_copy, now=datetime(2026, 11, 26, 12))
    with app_client(create_app(settings)) as client:
        for params, names, keys in CASES:
            response = client.get("/metrics/median_subscription_mrr", params=params)
            assert response.status_code == 200, response.text
            got = {tuple(r[n] for n in names): r["median_subscription_mrr"] for r in response.json()["rows"]}
            median, average = by_keys(oracle, keys, "median"), by_keys(oracle, keys, "avg")
            # the data tells the two apart: the median is not the average in most groups
            assert sum(abs(median[k] - average[k]) > 0.01 for k in median) > len(median) / 2, params
            assert got == pytest.approx(median), params
