"""A where value that a dimension's accepted_values rule out answers with a warning naming them."""

from __future__ import annotations

ACCEPTED = "free, starter, growth, enterprise"


def warnings_of(client, where: str) -> tuple[list[dict], list[str]]:
    r = client.get("/metrics/mrr", params={"grain": "month", "where": where, "start": "2025-01-01"})
    assert r.status_code == 200, r.text
    return r.json()["rows"], r.json()["meta"]["warnings"]


def test_an_unknown_value_is_named_with_the_accepted_ones(client) -> None:
    rows, warnings = warnings_of(client, "customer_tier = 'platinum'")
    assert rows == []
    assert warnings == [
        f"where compares 'customer_tier' with 'platinum', which is not one of its accepted values ({ACCEPTED}): "
        "no row can match it."
    ]


def test_each_unknown_value_of_an_in_list_is_named(client) -> None:
    rows, warnings = warnings_of(client, "customer_tier IN ('growth', 'gold', 'platinum') AND sales_region <> 'Mars'")
    assert rows, "growth customers have MRR"
    assert [w.split("'")[3] for w in warnings] == ["gold", "platinum", "Mars"]


def test_known_values_warn_of_nothing_and_the_cache_keeps_warnings_per_value(client) -> None:
    assert warnings_of(client, "customer_tier = 'growth'")[1] == []
    # the same shape again with another value: its SQL comes from the shape cache, its warning is its own
    assert len(warnings_of(client, "customer_tier = 'bronze'")[1]) == 1
