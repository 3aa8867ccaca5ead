"""A warehouse that is not TapFlow's, served by writing YAML and nothing else (README: Bring your own warehouse).

Tables in a schema of their own (`shop`), DECIMAL money, a relationship named like a SQL keyword
(`order`), a project folder with no migrations/: a real server answers, each number against hand SQL.
"""

from __future__ import annotations

import shutil

import duckdb
import httpx
import pytest

from tests.helpers import env_for, running_server

SHOP = """
CREATE SCHEMA shop;
CREATE TABLE shop.customers AS
SELECT i AS customer_id, 'c' || i AS name, ['retail', 'wholesale'][1 + i % 2] AS segment,
       (1000 + i * 12.5)::DECIMAL(10, 2) AS credit_limit
FROM range(1, 21) t(i);
CREATE TABLE shop.orders AS
SELECT i AS order_id, 1 + i % 20 AS customer_id, DATE '1994-01-01' + (i % 90)::INTEGER AS order_date,
       ['1-URGENT', '2-HIGH', '3-MEDIUM'][1 + i % 3] AS order_priority
FROM range(1, 101) t(i);
CREATE TABLE shop.lines AS
SELECT i AS line_id, 1 + i % 100 AS order_id, DATE '1994-01-01' + (i % 120)::INTEGER AS ship_date,
       (i * 1.37)::DECIMAL(10, 2) AS price, ((i % 4) * 0.05)::DECIMAL(4, 2) AS discount
FROM range(1, 601) t(i);
"""

ENTITIES = """\
version: 2
entities:
  - name: customers
    primary_key: customer_id
    tables: {current: shop.customers}
    dimensions: [{name: segment}, {name: credit_limit, type: number}]
  - name: orders
    primary_key: order_id
    tables: {current: shop.orders}
    dimensions: [{name: order_date, type: date}, {name: order_priority}]
    relationships:
      - {name: customer, entity: customers, type: many_to_one, foreign_key: customer_id}
  - name: lines
    primary_key: line_id
    tables: {current: shop.lines}
    dimensions: [{name: discount, type: number}]
    relationships:
      - {name: order, entity: orders, type: many_to_one, foreign_key: order_id}
"""

METRICS = """\
version: 2
metrics:
  - name: revenue
    entity: lines
    calculation_method: sum
    expression: price
    timestamp: ship_date
    dimensions: [discount, order.order_priority, order.order_date, order.customer.segment]
  - name: average_price
    entity: lines
    calculation_method: average
    expression: price
    timestamp: ship_date
    dimensions: [discount]
  - name: orders_shipped
    entity: lines
    calculation_method: count_distinct
    expression: order_id
    timestamp: ship_date
    dimensions: [order.order_priority]
  - name: urgent_revenue
    entity: lines
    calculation_method: sum
    expression: price
    timestamp: ship_date
    filters:
      - {field: order.order_priority, operator: '=', value: "'1-URGENT'"}
  - name: revenue_per_order
    calculation_method: derived
    expression: "{{ metric('revenue') }} / {{ metric('orders_shipped') }}"
    timestamp: ship_date
    time_grains: [month, quarter]
"""

LINES = """
    FROM shop.lines l JOIN shop.orders o USING (order_id) JOIN shop.customers c USING (customer_id)
"""


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("byo")
    db, project = root / "warehouse.duckdb", root / "project"
    with duckdb.connect(str(db)) as con:
        con.execute(SHOP)
    copy = root / "oracle.duckdb"  # the same data for hand SQL (the server holds the warehouse's lock)
    shutil.copy(db, copy)
    (project / "entities").mkdir(parents=True)
    (project / "metrics").mkdir()
    (project / "entities" / "shop.yml").write_text(ENTITIES)
    (project / "metrics" / "shop.yml").write_text(METRICS)
    assert not (project / "migrations").exists()
    with running_server(env_for(db, project)) as base:
        oracle = duckdb.connect(str(copy), read_only=True)
        yield base, oracle
        oracle.close()


def get(base: str, metric: str, **params: str) -> list[dict]:
    r = httpx.get(f"{base}/metrics/{metric}", params=params, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()["rows"]


def hand(oracle, sql: str) -> list[tuple]:
    return [
        tuple(float(v) if hasattr(v, "as_integer_ratio") and not isinstance(v, int) else v for v in row)
        for row in oracle.execute(sql).fetchall()
    ]


def test_decimal_sums_and_averages_to_the_cent(shop) -> None:
    base, oracle = shop
    rows = get(base, "revenue", grain="month")
    expected = hand(oracle, f"SELECT date_trunc('month', ship_date)::DATE, sum(price) {LINES} GROUP BY 1 ORDER BY 1")
    assert [(r["period"], round(r["revenue"], 2)) for r in rows] == [(p.isoformat(), v) for p, v in expected]
    rows = get(base, "average_price", dimensions="discount")
    expected = hand(oracle, f"SELECT discount, avg(price) {LINES} GROUP BY 1 ORDER BY 1")
    assert [(r["discount"], round(r["average_price"], 6)) for r in rows] == [(d, round(v, 6)) for d, v in expected]
    (total,) = get(base, "revenue")
    assert round(total["revenue"], 2) == hand(oracle, f"SELECT sum(price) {LINES}")[0][0]


def test_a_path_through_a_relationship_named_order(shop) -> None:
    base, oracle = shop
    rows = get(base, "revenue", grain="quarter", dimensions="order.order_priority")
    expected = hand(
        oracle,
        f"SELECT date_trunc('quarter', ship_date)::DATE, order_priority, sum(price) {LINES} GROUP BY ALL ORDER BY 1, 2",
    )
    assert [(r["period"], r["order.order_priority"], round(r["revenue"], 2)) for r in rows] == [
        (p.isoformat(), o, v) for p, o, v in expected
    ]
    rows = get(base, "revenue", dimensions="order.customer.segment")
    expected = hand(oracle, f"SELECT segment, sum(price) {LINES} GROUP BY 1 ORDER BY 1")
    assert [(r["order.customer.segment"], round(r["revenue"], 2)) for r in rows] == expected


def test_where_and_order_name_a_keyword_relationship(shop) -> None:
    base, oracle = shop
    rows = get(base, "revenue", grain="month", where="order.order_date >= '1994-02-01'", order="-revenue")
    expected = hand(
        oracle,
        f"""SELECT date_trunc('month', ship_date)::DATE, sum(price) {LINES}
            WHERE order_date >= DATE '1994-02-01' GROUP BY 1 ORDER BY 2 DESC""",
    )
    assert [(r["period"], round(r["revenue"], 2)) for r in rows] == [(p.isoformat(), v) for p, v in expected]
    rows = get(base, "revenue", dimensions="order.order_priority", order="-order.order_priority")
    assert [r["order.order_priority"] for r in rows] == ["3-MEDIUM", "2-HIGH", "1-URGENT"]


def test_a_metric_filter_on_a_joined_dimension(shop) -> None:
    base, oracle = shop
    rows = get(base, "urgent_revenue", grain="month")
    expected = hand(
        oracle,
        f"""SELECT date_trunc('month', ship_date)::DATE, sum(price) {LINES}
            WHERE order_priority = '1-URGENT' GROUP BY 1 ORDER BY 1""",
    )
    assert [(r["period"], round(r["urgent_revenue"], 2)) for r in rows] == [(p.isoformat(), v) for p, v in expected]


def test_a_derived_metric_with_a_timestamp(shop) -> None:
    base, oracle = shop
    rows = get(base, "revenue_per_order", grain="month")
    expected = hand(
        oracle,
        f"""SELECT date_trunc('month', ship_date)::DATE, sum(price) / count(DISTINCT order_id) {LINES}
            GROUP BY 1 ORDER BY 1""",
    )
    assert [(r["period"], round(r["revenue_per_order"], 6)) for r in rows] == [
        (p.isoformat(), round(v, 6)) for p, v in expected
    ]


def test_a_decimal_dimension_in_json_and_csv(shop) -> None:
    base, oracle = shop
    rows = get(base, "revenue", dimensions="discount")
    expected = hand(oracle, f"SELECT discount, sum(price) {LINES} GROUP BY 1 ORDER BY 1")
    assert [(r["discount"], round(r["revenue"], 2)) for r in rows] == expected
    r = httpx.get(f"{base}/metrics/revenue", params={"dimensions": "discount", "format": "csv"}, timeout=60)
    assert r.status_code == 200 and r.text.splitlines()[0] == "discount,revenue"
    assert [line.split(",")[0] for line in r.text.splitlines()[1:]] == [str(d) for d, _ in expected]


def test_the_service_keeps_its_own_tables(shop) -> None:
    base, _ = shop
    assert httpx.get(f"{base}/health", timeout=30).json()["status"] == "ok"
    assert httpx.get(f"{base}/usage", timeout=30).status_code == 200
