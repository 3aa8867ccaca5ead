"""Deprecation signals, usage events and lineage, against a real uvicorn server."""

from __future__ import annotations

import calendar
import re
import shutil
from datetime import datetime
from pathlib import Path

import duckdb
import httpx
import pytest

from tests.helpers import env_for, running_server

TODAY = "2026-11-26T12:00:00"
AFTER_SUNSET = "2027-04-01T00:00:00"


@pytest.fixture(scope="module")
def server(demo_db: Path, tmp_path_factory: pytest.TempPathFactory):
    db = tmp_path_factory.mktemp("governance") / "tapflow.duckdb"
    shutil.copy(demo_db, db)
    with running_server(env_for(db, TAPFLOW_NOW=TODAY, TAPFLOW_USAGE_FLUSH_S="0.1")) as base:
        yield base


def get(base: str, path: str, as_consumer: str | None = None, **params) -> httpx.Response:
    headers = {"X-Consumer": as_consumer} if as_consumer else {}
    return httpx.get(base + path, params=params, headers=headers, timeout=30)


def test_deprecation_headers_are_exactly_formatted(server) -> None:
    r = get(server, "/metrics/arr_by_customer", grain="month")
    assert r.status_code == 200
    deprecated_at = calendar.timegm(datetime(2026, 11, 1).timetuple())
    assert r.headers["Deprecation"] == f"@{deprecated_at}" == "@1793491200"
    assert r.headers["Sunset"] == "Wed, 31 Mar 2027 00:00:00 GMT"
    assert r.headers["Link"] == (
        '</metrics/arr>; rel="successor-version", '
        '</deprecations/arr_by_customer/guide>; rel="deprecation"; type="text/markdown"'
    )
    meta = r.json()["meta"]
    assert meta["deprecation"]["name"] == "arr_by_customer" and meta["deprecation"]["replaced_by"] == "arr"
    assert meta["deprecation"]["days_to_sunset"] == 125
    assert {o["name"] for o in meta["deprecation"]["objects"]} == {"arr_by_customer", "legacy.customer_facts"}
    assert any("arr_by_customer" in w and "'arr'" in w for w in meta["warnings"])


def test_inherited_deprecation_of_an_older_version(server) -> None:
    old = get(server, "/metrics/customer_lifetime_value", grain="month", version=1)
    assert old.status_code == 200 and old.json()["version"] == 1
    assert "Sunset" in old.headers and "legacy.customer_facts" in {
        o["name"] for o in old.json()["meta"]["deprecation"]["objects"]
    }
    new = get(server, "/metrics/customer_lifetime_value", grain="month")
    assert new.status_code == 200 and new.json()["version"] == 2
    assert "Deprecation" not in new.headers and new.json()["meta"]["deprecation"] is None
    plain = get(server, "/metrics/mrr", grain="month")
    assert "Deprecation" not in plain.headers and "Sunset" not in plain.headers


def test_the_guide_is_served_as_markdown(server) -> None:
    r = get(server, "/deprecations/customer_facts/guide")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/markdown")
    assert "| `tier` | `entity_customers_daily.customer_tier`" in r.text


def test_usage_is_counted_per_consumer(server) -> None:
    for _ in range(3):
        assert get(server, "/metrics/legacy_paying_customers", "finance-dashboard", grain="quarter").status_code == 200
    for _ in range(2):
        get(server, "/metrics/legacy_paying_customers", "board-deck", grain="year")
    get(server, "/metrics/legacy_paying_customers", "board-deck", grain="hour")  # a 400 is usage too
    rows = {
        r["key"]: r for r in get(server, "/usage", group_by="consumer", metric="legacy_paying_customers").json()["rows"]
    }
    assert rows["finance-dashboard"]["requests"] == 3
    assert rows["board-deck"]["requests"] == 3 and rows["board-deck"]["errors"] == 1
    by_metric = {r["key"]: r for r in get(server, "/usage", group_by="metric", consumer="board-deck").json()["rows"]}
    assert by_metric["legacy_paying_customers"]["requests"] == 3


def test_deprecations_dashboard_lists_customer_facts(server) -> None:
    get(server, "/metrics/arr_by_customer", "ops-notebook", grain="quarter")
    body = get(server, "/deprecations").json()
    facts = next(d for d in body["deprecations"] if d["name"] == "legacy.customer_facts")
    assert facts["kind"] == "table" and facts["sunset_date"] == "2027-03-31" and facts["days_to_sunset"] == 125
    dependents = {d["name"] for d in facts["dependents"]}
    assert {"arr_by_customer", "legacy_paying_customers", "customer_lifetime_value@v1"} <= dependents
    consumers = {c["consumer"]: c for c in facts["consumers"]}
    assert consumers["ops-notebook"]["requests_7d"] >= 1 and consumers["finance-dashboard"]["requests_30d"] >= 3
    detail = get(server, "/deprecations/customer_facts").json()
    assert "# Migrating off `legacy.customer_facts`" in detail["migration_guide"]
    inherited = next(d for d in body["deprecations"] if d["name"] == "arr_by_customer")
    assert inherited["replaced_by"] == "arr"


def test_lineage_of_mrr_and_customer_facts_matches_the_definitions(server) -> None:
    mrr = get(server, "/lineage/mrr").json()
    assert {n["name"] for n in mrr["upstream"]} == {
        "entity.entity_customers_daily",
        "customers",
        "entity.entity_customers",
        # what builds the daily table, read from the FROM clauses of entities/*.yml by hand
        "entity.entity_customers_history",  # its snapshot
        "staging.stg_crm__customer_changes",  # the history's change log
        "staging.stg_crm__customers",
        "staging.stg_billing__subscriptions",
        "entity.entity_subscription_seats_history",
        "staging.stg_billing__seat_changes",
        "entity.entity_subscriptions_monthly",
        "entity.entity_subscriptions",  # the current customers table counts their seats
    }
    builds = {(e["source"], e["target"]) for e in mrr["edges"] if e["kind"] == "builds"}
    assert ("table:entity.entity_customers_history", "table:entity.entity_customers_daily") in builds
    assert {n["name"] for n in mrr["downstream"]} == {"arpa"}
    facts = get(server, "/lineage/customer_facts").json()
    assert {n["name"] for n in facts["downstream"]} == {
        "arr_by_customer",
        "legacy_paying_customers",
        "customer_lifetime_value@v1",
    }
    assert {n["name"] for n in facts["upstream"]} == set()
    health = get(server, "/lineage/team_health_score").json()
    assert {"active_user_percentage", "team_active_user_days", "entity.entity_teams_daily"} <= {
        n["name"] for n in health["upstream"]
    }


MERMAID_LINE = re.compile(
    r"""^(flowchart LR|\s{4}[A-Za-z0-9_]+(\[\("[^"]*"\)\]|\(\["[^"]*"\]\)|\["[^"]*"\])"""
    r"""|\s{4}[A-Za-z0-9_]+ (-->|-\.->|==>)\|[a-z_]+\| [A-Za-z0-9_]+"""
    r"""|\s{4}classDef [a-z]+ [^\s]+|\s{4}class [A-Za-z0-9_,]+ [a-z]+)$"""
)


def test_mermaid_output_is_valid_flowchart_syntax(server) -> None:
    text = get(server, "/lineage", format="mermaid").text
    lines = text.strip().splitlines()
    assert lines[0] == "flowchart LR"
    bad = [line for line in lines if not MERMAID_LINE.match(line)]
    assert not bad, bad
    declared = {m.group(1) for m in re.finditer(r"^\s{4}([A-Za-z0-9_]+)[\[(]", text, re.MULTILINE)}
    used = {x for m in re.finditer(r"^\s{4}(\w+) \S+\|\w+\| (\w+)$", text, re.MULTILINE) for x in m.groups()}
    assert used <= declared
    assert "table_legacy_customer_facts" in text.split("class ")[-1]  # styled as deprecated


def test_past_the_sunset_answers_410_naming_the_replacement(demo_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "later.duckdb"
    shutil.copy(demo_db, db)
    with running_server(env_for(db, TAPFLOW_NOW=AFTER_SUNSET)) as base:
        gone = get(base, "/metrics/arr_by_customer", grain="month")
        assert gone.status_code == 410 and gone.headers["content-type"] == "application/problem+json"
        body = gone.json()
        assert body["replaced_by"] == "arr" and body["migration_guide_url"] == "/deprecations/arr_by_customer/guide"
        assert "'arr'" in body["detail"] and "2027-03-31" in body["detail"]
        assert '</metrics/arr>; rel="successor-version"' in gone.headers["Link"]
        assert get(base, "/metrics/customer_lifetime_value", grain="month", version=1).status_code == 410
        assert get(base, "/metrics/customer_lifetime_value", grain="month").status_code == 200
        assert get(base, "/metrics/arr", grain="month").status_code == 200
        definition = get(base, "/metrics/arr_by_customer/definition")
        assert definition.status_code == 200 and definition.json()["deprecation"]["name"] == "arr_by_customer"


def test_n_requests_give_n_events_after_sigterm(demo_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "events.duckdb"
    shutil.copy(demo_db, db)
    env = env_for(db, TAPFLOW_NOW=TODAY, TAPFLOW_USAGE_FLUSH_S="3600", TAPFLOW_USAGE_BATCH="100000")
    n = 60
    with running_server(env) as base, httpx.Client(base_url=base, timeout=30) as client:
        for i in range(n):
            path = ["/metrics/mrr", "/metrics/arpa", "/entities/customers", "/metrics/nope"][i % 4]
            client.get(
                path,
                params={"grain": "month"} if "metrics" in path else None,
                headers={"X-Consumer": f"client-{i % 3}"},
            )
    # running_server sent SIGTERM and waited: every buffered event must be in the file now
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM meta.usage_events").fetchone()[0] == n
        per = dict(con.execute("SELECT consumer, count(*) FROM meta.usage_events GROUP BY 1").fetchall())
        assert per == {"client-0": 20, "client-1": 20, "client-2": 20}
        statuses = dict(con.execute("SELECT status, count(*) FROM meta.usage_events GROUP BY 1").fetchall())
        assert statuses == {200: 45, 404: 15}
