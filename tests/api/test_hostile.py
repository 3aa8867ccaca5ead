"""Hostile input: every one answers 4xx problem+json, and the database is unchanged afterwards."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from app.api.main import create_app
from app.errors import TapflowError
from app.settings import Settings
from tests.api.conftest import app_client
from tests.conftest import ROOT
from tests.unit.test_seed import table_hashes

LONG = "x" * 20000
HOSTILE_GET = [
    # where
    ("/metrics/mrr", {"where": "1=1; DROP TABLE entity.entity_customers"}),
    ("/metrics/mrr", {"where": "customer_tier = 'a' OR 1=1 --"}),
    ("/metrics/mrr", {"where": "customer_tier = 'a' /* x */"}),
    ("/metrics/mrr", {"where": "customer_tier IN (SELECT customer_tier FROM entity.entity_customers)"}),
    ("/metrics/mrr", {"where": "read_csv('/etc/passwd') IS NOT NULL"}),
    ("/metrics/mrr", {"where": "customer_tier = (SELECT 1)"}),
    ("/metrics/mrr", {"where": "EXISTS (SELECT 1)"}),
    ("/metrics/mrr", {"where": "COPY entity.entity_customers TO '{out}/x.csv'"}),
    ("/metrics/mrr", {"where": "ATTACH '{out}/evil.duckdb' AS evil"}),
    ("/metrics/mrr", {"where": "monthly_recurring_revenue > 0"}),
    ("/metrics/mrr", {"where": "customer_status = 'churned'"}),
    ("/metrics/mrr", {"where": "*"}),
    ("/metrics/mrr", {"where": "lower(customer_tier) = 'growth'"}),
    ("/metrics/mrr", {"where": "customer_tier = 'growth' UNION SELECT 1"}),
    ("/metrics/mrr", {"where": "customer_tier = 'gr' || 'owth'"}),
    ("/metrics/mrr", {"where": "customer_tier = CAST(1 AS VARCHAR)"}),
    ("/metrics/mrr", {"where": "customer_tier ="}),
    ("/metrics/mrr", {"where": "'unterminated"}),
    ("/metrics/mrr", {"where": "customer_tier = 'growth' " + "AND (" * 60 + "TRUE" + ")" * 60}),
    ("/metrics/mrr", {"where": LONG}),
    ("/metrics/mrr", {"where": "customer\u0442ier = 'growth'"}),  # Cyrillic te
    ("/metrics/mrr", {"where": "customer_tier > 5 AND sales_region < DATE 'x'"}),
    ("/metrics/mrr", {"where": "pg_sleep(10) IS NULL"}),
    ("/metrics/mrr", {"where": "customer_tier = $1"}),
    ("/metrics/mrr", {"where": "getvariable('x') IS NULL"}),
    # dimensions
    ("/metrics/mrr", {"dimensions": "customer_tier; DROP TABLE x"}),
    ("/metrics/mrr", {"dimensions": '"customer_tier"'}),
    ("/metrics/mrr", {"dimensions": "monthly_recurring_revenue"}),
    ("/metrics/mrr", {"dimensions": "teams.team_type"}),
    ("/metrics/mrr", {"dimensions": "customer_tier,customer_tier"}),
    ("/metrics/mrr", {"dimensions": "(SELECT 1)"}),
    ("/metrics/mrr", {"dimensions": ",".join(["customer_tier"] * 300)}),
    # order
    ("/metrics/mrr", {"order": "mrr; DROP TABLE x"}),
    ("/metrics/mrr", {"order": "(SELECT 1)"}),
    ("/metrics/mrr", {"order": "-customer_status"}),
    # grain
    ("/metrics/mrr", {"grain": "month'); DROP TABLE x; --"}),
    ("/metrics/mrr", {"grain": "hour"}),
    ("/metrics/mrr", {"grain": "fortnight"}),
    # start / end
    ("/metrics/mrr", {"start": "2025-01-01'; DROP TABLE x; --"}),
    ("/metrics/mrr", {"start": "yesterday"}),
    ("/metrics/mrr", {"end": "2025-13-45"}),
    ("/metrics/mrr", {"start": "2026-01-01", "end": "2025-01-01"}),
    ("/metrics/mrr", {"start": LONG}),
    # format, limit, compare, fill, version, dialect
    ("/metrics/mrr", {"format": "parquet"}),
    ("/metrics/mrr", {"format": "csv'; --"}),
    ("/metrics/mrr", {"limit": "-1"}),
    ("/metrics/mrr", {"limit": "1e9"}),
    ("/metrics/mrr", {"limit": "99999999"}),
    ("/metrics/mrr", {"compare": "prior_decade"}),
    ("/metrics/mrr", {"compare": "prior_year"}),  # needs a grain
    ("/metrics/mrr", {"fill": "zero"}),  # needs a grain
    ("/metrics/mrr", {"version": "0"}),
    ("/metrics/mrr", {"version": "7"}),
    ("/metrics/mrr", {"unknown_param": "1"}),
    ("/metrics/mrr/sql", {"dialect": "oracle'; --"}),
    # the metric name
    ("/metrics/mrr;DROP TABLE x", {}),
    ("/metrics/mrr'--", {}),
    ("/metrics/..%2F..%2Fetc%2Fpasswd", {}),
    ("/metrics/m\u0433r", {}),
    ("/metrics/" + "m" * 5000, {}),
    ("/entities/customers'--", {}),
]
HOSTILE_POST = [
    {"metrics": []},
    {"metrics": ["mrr"], "where": "1=1; DELETE FROM entity.entity_customers"},
    {"metrics": ["mrr", "mrr"]},
    {"metrics": ["mrr"], "dimensions": ["customer_tier) FROM x --"]},
    {"metrics": ["mrr"], "order": ["mrr DESC; DROP TABLE x"]},
    {"metrics": ["mrr", "new_mrr"], "version": 1},
    {"metrics": ["mrr"], "limit": "lots"},
    {"metrics": "mrr; DROP TABLE x"},
    {"metrics": ["mrr"], "sql": "SELECT 1"},
]


def aimed_at(value, out: Path):
    """A payload with ``{out}`` pointing into the test's own directory (so a write would be seen there)."""
    if isinstance(value, dict):
        return {k: aimed_at(v, out) for k, v in value.items()}
    return value.replace("{out}", str(out)) if isinstance(value, str) else value


@pytest.fixture(scope="module")
def hostile_run(demo_db: Path, tmp_path_factory: pytest.TempPathFactory):
    db = tmp_path_factory.mktemp("hostile") / "tapflow.duckdb"
    shutil.copy(demo_db, db)
    out = tmp_path_factory.mktemp("hostile-out")
    responses = []
    with app_client(create_app(Settings(database=db, project_dir=ROOT))) as client:
        for url, params in HOSTILE_GET:
            params = aimed_at(params, out)
            responses.append((url, params, client.get(url, params=params)))
        for body in HOSTILE_POST:
            responses.append(("/query", body, client.post("/query", json=body)))
        responses.append(
            (
                "/query",
                "not json",
                client.post("/query", content=b"{not json", headers={"content-type": "application/json"}),
            )
        )
    return db, out, responses


def test_each_hostile_input_is_a_4xx_problem(hostile_run) -> None:
    _, _, responses = hostile_run
    for url, params, response in responses:
        assert 400 <= response.status_code < 500, (url, params, response.status_code, response.text[:300])
        assert response.headers["content-type"] == "application/problem+json", (url, params)
        body = response.json()
        assert body["status"] == response.status_code and body["title"] and body["detail"], (url, params)


def test_the_database_is_unchanged_after_hostile_input(hostile_run, demo_db: Path) -> None:
    db, out, _ = hostile_run
    with duckdb.connect(str(db), read_only=True) as after, duckdb.connect(str(demo_db), read_only=True) as before:
        assert table_hashes(after) == table_hashes(before)
        tables = "SELECT schema_name, table_name FROM duckdb_tables() ORDER BY ALL"
        assert after.execute(tables).fetchall() == before.execute(tables).fetchall()
    assert list(out.iterdir()) == []  # nothing was copied or attached there


def error_classes(cls: type[TapflowError] = TapflowError) -> Iterator[type[TapflowError]]:
    yield cls
    for sub in cls.__subclasses__():
        yield from error_classes(sub)


def test_every_error_class_renders_as_a_problem(demo_copy: Path) -> None:
    """Each TapflowError subclass, raised inside a route of the real app, answers as a problem document."""
    classes = {cls.__name__: cls for cls in error_classes()}
    app = create_app(Settings(database=demo_copy, project_dir=ROOT))

    def raise_it(name: str) -> None:
        raise classes[name](f"{name} raised on purpose")

    app.add_api_route("/test-only/raise/{name}", raise_it)
    types = set()
    with app_client(app) as client:
        for name, cls in classes.items():
            response = client.get(f"/test-only/raise/{name}")
            assert response.status_code == cls.status, name
            assert response.headers["content-type"] == "application/problem+json", name
            body = response.json()
            assert (body["status"], body["title"], body["detail"]) == (
                cls.status,
                cls.title,
                f"{name} raised on purpose",
            )
            assert body["instance"] == f"/test-only/raise/{name}" and body["type"], name
            types.add(body["type"])
        assert client.get("/health").status_code == 200  # and the app goes on serving
    assert len(types) == len(classes)  # each class its own problem type


def test_unknown_names_get_suggestions(client) -> None:
    body = client.get("/metrics/mrrr").json()
    assert body["status"] == 404 and "Did you mean 'mrr'" in body["detail"]
    body = client.get("/metrics/mrr", params={"dimensions": "custmer_tier"}).json()
    assert "Unknown dimension 'custmer_tier' for metric 'mrr'. Did you mean 'customer_tier'" in body["detail"]
    assert "Allowed:" in body["detail"]
    body = client.get("/metrics/mrr", params={"grain": "hour"}).json()
    assert "Allowed grains: day, week, month, quarter, year" in body["detail"]
    body = client.get("/entities/customer").json()
    assert body["status"] == 404 and "Did you mean 'customers'" in body["detail"]
    body = client.get("/metrics/mrr", params={"dimensions": "teams.team_type"}).json()
    assert "fan out" in body["detail"]
