"""Catalog, definition, entities, paging, ordering and formats."""

from __future__ import annotations

import csv
import io

import pytest


def test_catalog_lists_every_metric_with_its_facts(client) -> None:
    body = client.get("/metrics").json()
    names = [m["name"] for m in body["metrics"]]
    assert names == sorted(names) and "mrr" in names and body["count"] == len(names)
    mrr = next(m for m in body["metrics"] if m["name"] == "mrr")
    assert mrr["label"] == "MRR" and mrr["owner"] == "revenue_team" and mrr["verified"] is True
    assert mrr["grains"] == ["day", "week", "month", "quarter", "year"]
    assert "customer_tier" in mrr["dimensions"] and mrr["versions"] == [1] and mrr["deprecation"] is None


def test_definition_has_source_versions_and_lineage(client) -> None:
    body = client.get("/metrics/mrr/definition").json()
    assert body["source"] == {"file": "metrics/revenue.yml", "line": 3}
    assert body["lineage"]["upstream"]["table"] == "entity.entity_customers_daily"
    assert "arpa" in body["lineage"]["downstream"]["metrics"]
    assert body["definition"]["expression"] == "monthly_recurring_revenue"
    derived = client.get("/metrics/team_health_score/definition").json()
    assert derived["lineage"]["upstream"]["metrics"] == [
        "active_user_percentage",
        "feature_adoption_score",
        "collaboration_index",
    ]


def test_entity_coverage_matches_the_tables(client, oracle) -> None:
    body = client.get("/entities/customers").json()
    tables = {t["key"]: t for t in body["tables"]}
    n, lo, hi = oracle.execute(
        "SELECT count(*), min(snapshot_date), max(snapshot_date) FROM entity.entity_customers_daily"
    ).fetchone()
    assert tables["daily"]["row_count"] == n
    assert (tables["daily"]["min"], tables["daily"]["max"]) == (lo.isoformat(), hi.isoformat())
    assert tables["daily"]["grain"] == "day" and tables["facts"]["grain"] == "month"
    assert {r["name"] for r in body["relationships"]} == {"teams", "subscriptions", "locations"}
    listing = client.get("/entities").json()
    assert {e["name"] for e in listing["entities"]} >= {"customers", "teams", "users", "devices", "locations"}


def test_limit_offset_and_truncation(client) -> None:
    full = client.get("/metrics/mrr", params={"grain": "month"}).json()["rows"]
    page = client.get("/metrics/mrr", params={"grain": "month", "limit": 5, "offset": 10}).json()
    assert page["rows"] == full[10:15]
    assert page["meta"]["truncated"] is True and page["meta"]["row_count"] == 5
    last = client.get("/metrics/mrr", params={"grain": "month", "limit": 5, "offset": len(full) - 3}).json()
    assert last["meta"]["truncated"] is False and len(last["rows"]) == 3


def test_order_descending_by_a_metric(client) -> None:
    rows = client.get(
        "/metrics/mrr", params={"grain": "month", "dimensions": "sales_region", "order": "-mrr", "limit": 10}
    ).json()["rows"]
    values = [r["mrr"] for r in rows]
    assert values == sorted(values, reverse=True)


def test_csv_by_accept_header(client) -> None:
    response = client.get(
        "/metrics/new_mrr", params={"grain": "quarter", "dimensions": "product_line"}, headers={"accept": "text/csv"}
    )
    assert response.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(response.text)))
    json_rows = client.get("/metrics/new_mrr", params={"grain": "quarter", "dimensions": "product_line"}).json()["rows"]
    assert len(table) == len(json_rows)
    assert [float(r["new_mrr"]) for r in table] == pytest.approx([r["new_mrr"] for r in json_rows])


def test_a_url_asked_again_is_read_as_the_first_time(client) -> None:
    """GET /metrics/{name}'s query string is read once and remembered (asked_query): the metric of the path is
    part of what is remembered, the format too, and a string that failed fails again."""
    asked = client.app.state.tapflow.asked

    def key(response) -> tuple[str, bytes]:
        return response.request.url.path.rsplit("/", 1)[1], response.request.url.query

    params = {"grain": "quarter", "start": "2026-01-01", "limit": 978}  # URLs no other test asks
    remembered = {}
    for round_ in range(2):
        responses = [client.get(f"/metrics/{m}", params=params) for m in ("mrr", "arr")]
        responses.append(client.get("/metrics/mrr", params=params | {"format": "csv"}))
        mrr, arr, as_csv = responses
        assert [c["name"] for c in mrr.json()["columns"]] == ["period", "mrr"]
        assert [c["name"] for c in arr.json()["columns"]] == ["period", "arr"]
        assert [r["arr"] for r in arr.json()["rows"]] == pytest.approx([12 * r["mrr"] for r in mrr.json()["rows"]])
        assert as_csv.headers["content-type"].startswith("text/csv") and as_csv.text.startswith("period,mrr")
        for response in responses:  # kept the first time, found (not read and kept again) the second
            kept = asked.get(key(response))
            assert kept is not None and remembered.setdefault(key(response), kept) is kept, round_
    for bad in ("grain=fortnight", "grain=month&grain=year", "grain=month&limits=3"):
        for _ in range(2):
            response = client.get(f"/metrics/mrr?{bad}")
            assert response.status_code == 400, (bad, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert key(response) not in asked
    # a long URL is answered as any other, and read every time rather than kept
    tiers = " OR ".join(f"customer_tier = 'tier number {i}'" for i in range(40))
    growth = [
        client.get("/metrics/mrr", params={"grain": "quarter", "where": f"customer_tier = 'growth' OR {tiers}"})
        for _ in range(2)
    ]
    assert [r.status_code for r in growth] == [200, 200] and growth[0].json()["rows"] == growth[1].json()["rows"]
    assert len(growth[0].request.url.query) > 512 and key(growth[0]) not in asked
    short = client.get("/metrics/mrr", params={"grain": "quarter", "where": "customer_tier = 'growth'"})
    assert short.json()["rows"] == growth[0].json()["rows"] and key(short) in asked


def test_nested_derived_metric_is_its_formula(client) -> None:
    body = client.post(
        "/query",
        json={
            "metrics": [
                "team_health_score",
                "active_user_percentage",
                "feature_adoption_score",
                "collaboration_index",
                "team_active_user_days",
                "team_member_days",
            ],
            "grain": "quarter",
        },
    ).json()
    for r in body["rows"]:
        assert r["active_user_percentage"] == pytest.approx(100 * r["team_active_user_days"] / r["team_member_days"])
        assert r["team_health_score"] == pytest.approx(
            0.4 * r["active_user_percentage"] + 30 * r["feature_adoption_score"] + 30 * r["collaboration_index"]
        )


def test_week_grain_starts_on_monday(client) -> None:
    from datetime import date

    rows = client.get("/metrics/sessions", params={"grain": "week", "start": "2026-09-01", "end": "2026-09-30"}).json()
    assert all(date.fromisoformat(r["period"]).weekday() == 0 for r in rows["rows"])


def test_no_grain_gives_one_total(client, oracle) -> None:
    rows = client.get("/metrics/device_events").json()["rows"]
    assert rows == [
        {
            "device_events": pytest.approx(
                float(oracle.execute("SELECT sum(event_count) FROM entity.entity_devices_hourly").fetchone()[0])
            )
        }
    ]


def test_validation_errors_are_problems(client) -> None:
    response = client.get("/metrics/mrr", params={"limit": "many"})
    assert response.status_code == 400 and response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["location"] == "query.limit"
