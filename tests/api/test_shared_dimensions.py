"""One spelling across metrics: customer.customer_tier for metrics of customers and of subscriptions."""

from __future__ import annotations


def test_metrics_of_two_entities_side_by_side_by_one_name(client) -> None:
    body = {
        "metrics": ["mrr", "churned_mrr"],
        "grain": "month",
        "dimensions": ["customer.customer_tier"],
        "start": "2025-01-01",
        "end": "2025-06-30",
        "limit": 1000,
    }
    r = client.post("/query", json=body)
    assert r.status_code == 200, r.text
    both = {(x["period"], x["customer.customer_tier"]): x for x in r.json()["rows"]}
    params = {"grain": "month", "start": "2025-01-01", "end": "2025-06-30"}
    mrr = client.get("/metrics/mrr", params=params | {"dimensions": "customer_tier"}).json()["rows"]
    churned = client.get("/metrics/churned_mrr", params=params | {"dimensions": "customer.customer_tier"}).json()[
        "rows"
    ]
    assert mrr and churned
    for row in mrr:
        assert both[(row["period"], row["customer_tier"])]["mrr"] == row["mrr"]
    for row in churned:
        assert both[(row["period"], row["customer.customer_tier"])]["churned_mrr"] == row["churned_mrr"]


def test_a_qualified_name_answers_like_the_own_name(client) -> None:
    params = {"grain": "quarter", "start": "2025-01-01", "where": "customer.sales_region = 'EMEA'"}
    own = client.get("/metrics/mrr", params=params | {"dimensions": "customer_tier"}).json()["rows"]
    qualified = client.get("/metrics/mrr", params=params | {"dimensions": "customer.customer_tier"}).json()["rows"]
    assert own and [(r["period"], r["customer_tier"], r["mrr"]) for r in own] == [
        (r["period"], r["customer.customer_tier"], r["mrr"]) for r in qualified
    ]


def test_the_catalog_lists_the_qualified_names(client) -> None:
    catalog = {m["name"]: m for m in client.get("/metrics").json()["metrics"]}
    assert "customer.customer_tier" in catalog["mrr"]["qualified_dimensions"]
    assert "customer.customer_tier" in catalog["churned_mrr"]["dimensions"]
    assert "customer.customer_tier" in catalog["arpa"]["qualified_dimensions"]
