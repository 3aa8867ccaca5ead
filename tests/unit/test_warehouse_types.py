"""A warehouse that is not TapFlow's: a schema of its own and every column type answers in JSON and CSV."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from app.compiler.query import MetricQuery
from app.definitions.loader import load_texts
from app.engine.csvout import csv_text
from app.engine.database import read_catalog
from app.engine.runner import run_metric_query

SHOP = """
CREATE SCHEMA shop;
CREATE TYPE shop.status AS ENUM ('placed', 'shipped', 'returned');
CREATE TABLE shop.orders AS
SELECT
    i AS order_id,
    DATE '2025-01-01' + (i % 60)::INTEGER AS order_date,
    (i * 7.13)::DECIMAL(12, 2) AS amount,
    ((i % 3) * 0.05)::DECIMAL(5, 2) AS discount,
    (['placed', 'shipped', 'returned'])[1 + i % 3]::shop.status AS status,
    ('00000000-0000-0000-0000-' || lpad(i::VARCHAR, 12, '0'))::UUID AS ref,
    (TIMESTAMPTZ '2025-01-01 00:00:00+00' + to_hours(i)) AS placed_at,
    (i % 5)::HUGEINT AS big,
    to_days(i % 4) AS wait,
    ('\\x0' || (i % 10)::VARCHAR)::BLOB AS raw,
    ['a', 'b'][1:1 + i % 2] AS tags,
    {'n': i % 2, 'w': (i % 2)::DECIMAL(4, 1)} AS shape
FROM range(1, 201) t(i);
"""

DEFINITIONS = {
    "entities/orders.yml": """
version: 2
entities:
  - name: orders
    primary_key: order_id
    tables:
      current: shop.orders
    dimensions:
      - {name: discount, type: number}
      - {name: status}
      - {name: ref}
      - {name: placed_at, type: timestamp}
      - {name: big, type: number}
      - {name: wait}
      - {name: raw}
      - {name: tags}
      - {name: shape}
""",
    "metrics/orders.yml": """
version: 2
metrics:
  - name: revenue
    entity: orders
    calculation_method: sum
    expression: amount
    timestamp: order_date
    dimensions: [discount, status, ref, placed_at, big, wait, raw, tags, shape]
  - name: average_order
    entity: orders
    calculation_method: average
    expression: amount
    timestamp: order_date
    dimensions: [discount, status]
""",
}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    path: Path = tmp_path_factory.mktemp("shop") / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    con.execute(SHOP)
    yield con
    con.close()


def test_a_schema_of_its_own_is_read(shop) -> None:
    catalog = read_catalog(shop)
    assert "shop.orders" in catalog and catalog["shop.orders"]["amount"].startswith("DECIMAL")
    load_texts(DEFINITIONS, catalog)  # validates against the catalog: no "does not exist"


def test_decimal_sums_and_averages_to_the_cent(shop) -> None:
    project = load_texts(DEFINITIONS, read_catalog(shop))
    query = MetricQuery(metrics=("revenue", "average_order"), grain="month", dimensions=("discount",))
    got = run_metric_query(shop, project, query, timeout_s=30).rows
    expected = shop.execute(
        """SELECT date_trunc('month', order_date)::DATE, discount, sum(amount), avg(amount)
           FROM shop.orders GROUP BY ALL ORDER BY 1, 2"""
    ).fetchall()
    assert len(got) == len(expected) > 3
    for row, (period, discount, total, average) in zip(got, expected, strict=True):
        assert row["period"] == period.isoformat() and row["discount"] == float(discount)
        assert round(row["revenue"], 2) == float(total)
        assert round(row["average_order"], 2) == round(float(average), 2)


@pytest.mark.parametrize("dimension", ["status", "ref", "placed_at", "big", "wait", "raw", "tags", "shape"])
def test_every_column_type_answers_in_json_and_csv(shop, dimension) -> None:
    project = load_texts(DEFINITIONS, read_catalog(shop))
    result = run_metric_query(shop, project, MetricQuery(metrics=("revenue",), dimensions=(dimension,)), timeout_s=30)
    expected = shop.execute(f"SELECT count(DISTINCT {dimension}), sum(amount) FROM shop.orders").fetchone()
    assert len(result.rows) == expected[0]
    assert round(sum(r["revenue"] for r in result.rows), 2) == float(expected[1])  # the breakdown sums to the total
    json.dumps(result.rows, allow_nan=False)  # every value is JSON data
    text = csv_text([c.name for c in result.columns], result.rows)
    assert text.count("\n") == len(result.rows) + 1


def test_rows_are_shaped_column_by_column_as_cell_by_cell() -> None:
    """Each column converted at once (a column JSON takes as it is left alone, dates and floats in one pass) gives
    what converting each cell on its own gives: NaN and the infinities as null, dates as ISO text, the rest too."""
    from datetime import date, datetime
    from decimal import Decimal

    from app.engine.runner import _jsonable, _shaped

    inf, nan = float("inf"), float("nan")
    rows = [
        (date(2026, 1, 1), 1.5, None, "a", Decimal("2.50"), datetime(2026, 1, 1, 6), 3, None),
        (None, nan, 2.0, None, Decimal("7"), None, None, date(2026, 2, 1)),
        (date(2026, 1, 3), inf, -inf, "c", None, datetime(2026, 1, 3), True, "text"),
        (date(2026, 1, 4), -0.0, nan, "d", Decimal("1e3"), datetime(2026, 1, 4, 0, 0, 1, 5), 4, 1.25),
    ]
    names = ["d", "f", "g", "s", "n", "t", "i", "mixed"]
    expected = [{n: _jsonable(v) for n, v in zip(names, row, strict=True)} for row in rows]
    got = _shaped(names, rows)
    assert got == expected
    assert got[1]["f"] is None and got[2]["f"] is None and got[2]["g"] is None and got[1]["mixed"] == "2026-02-01"
    json.dumps(got, allow_nan=False)
    assert _shaped(names, []) == []
    with pytest.raises(ValueError, match="3 values a row for 2 columns"):
        _shaped(["a", "b"], [(1, 2, 3)])
