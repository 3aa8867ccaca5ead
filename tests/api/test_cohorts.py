"""GET/POST /cohorts/{metric}: the retention matrix against hand-written SQL over the demo data, its invariants
(the first column is 100%; a cell is the metric's value for the cohort k periods after its start), CSV and
errors; and the catalog's data coverage told in a zone."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest

from app.api.main import create_app
from app.settings import Settings
from tests.api.conftest import app_client

# the board's churn-cohort view: customers by signup month, MRR retained per month since signup, from 2024-11
BOARD = "/cohorts/mrr?cohort=signup_cohort&grain=month&periods=12&start=2024-11-01&end=2025-06-30"

HAND_MRR = """
    WITH active AS (
        SELECT d.snapshot_date, d.monthly_recurring_revenue AS mrr,
               CAST(date_trunc('month', c.signup_date) AS DATE) AS cohort
        FROM entity.entity_customers_daily d JOIN entity.entity_customers c USING (customer_id)
        WHERE d.customer_status = 'active'),
    last AS (SELECT CAST(date_trunc('month', snapshot_date) AS DATE) AS month, max(snapshot_date) AS day
             FROM entity.entity_customers_daily GROUP BY 1)
    SELECT a.cohort, (year(l.month) * 12 + month(l.month)) - (year(a.cohort) * 12 + month(a.cohort)) AS since,
           sum(a.mrr)
    FROM last l JOIN active a ON a.snapshot_date = l.day
    WHERE a.cohort BETWEEN DATE '2024-11-01' AND DATE '2025-06-01'
    GROUP BY ALL HAVING since BETWEEN 0 AND 11
"""


def test_the_board_view_equals_hand_sql(client, oracle) -> None:
    response = client.get(BOARD)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["metric"], body["cohort"], body["grain"], body["periods"]) == ("mrr", "signup_cohort", "month", 12)
    got = {(r["cohort"], k): r[f"p{k}"] for r in body["rows"] for k in range(12) if r[f"p{k}"]}
    expected = {(c.isoformat(), since): float(v) for c, since, v in oracle.execute(HAND_MRR).fetchall()}
    assert got == pytest.approx(expected)
    assert [r["cohort"] for r in body["rows"]] == [f"{y}-{m:02d}-01" for y, m in [(2024, 11), (2024, 12)]] + [
        f"2025-{m:02d}-01" for m in range(1, 7)
    ]
    for row in body["rows"]:
        assert row["pct_p0"] == 100.0
        for k in range(12):
            assert row[f"pct_p{k}"] == pytest.approx(100.0 * row[f"p{k}"] / row["p0"], abs=0.005)


def test_a_count_of_active_customers_and_its_retention(client, oracle) -> None:
    body = client.post(
        "/cohorts/active_customers", json={"cohort": "signup_cohort", "periods": 4, "start": "2025-01-01"}
    ).json()
    hand = dict(
        oracle.execute(
            """SELECT CAST(date_trunc('month', c.signup_date) AS DATE), count(DISTINCT d.customer_id)
               FROM entity.entity_customers_daily d JOIN entity.entity_customers c USING (customer_id)
               WHERE d.customer_status = 'active' AND d.snapshot_date = DATE '2025-03-31'
               GROUP BY 1"""
        ).fetchall()
    )
    months = {date(2025, 3, 1): 0, date(2025, 2, 1): 1, date(2025, 1, 1): 2}  # March, k months after each cohort
    rows = {r["cohort"]: r for r in body["rows"]}
    for cohort, k in months.items():
        assert rows[cohort.isoformat()][f"p{k}"] == hand[cohort]


def test_a_cohort_through_a_relationship_and_the_cells_past_the_data(client, oracle) -> None:
    """new MRR by the customer's signup month (a path from subscriptions): a cohort's cells after the last month
    of data are null, not zero; those before are the month's value, zero where the cohort had none."""
    body = client.get("/cohorts/new_mrr?cohort=customer.signup_cohort&periods=6&start=2026-08-01").json()
    (last,) = oracle.execute("SELECT max(month_start) FROM entity.entity_subscriptions_monthly").fetchone()
    for row in body["rows"]:
        start = date.fromisoformat(row["cohort"])
        for k in range(6):
            month = date(start.year + (start.month - 1 + k) // 12, (start.month - 1 + k) % 12 + 1, 1)
            if month > last:
                assert row[f"p{k}"] is None and row[f"pct_p{k}"] is None
            else:
                (hand,) = oracle.execute(
                    """SELECT coalesce(sum(s.new_mrr), 0) FROM entity.entity_subscriptions_monthly s
                       JOIN entity.entity_customers c USING (customer_id)
                       WHERE s.month_start = ? AND date_trunc('month', c.signup_date) = ?""",
                    [month, start],
                ).fetchone()
                assert row[f"p{k}"] == pytest.approx(float(hand))


def test_the_matrix_as_csv(client) -> None:
    response = client.get(BOARD + "&format=csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    as_json = client.get(BOARD).json()["rows"]
    assert [r["cohort"] for r in rows] == [r["cohort"] for r in as_json]
    assert float(rows[0]["p3"]) == pytest.approx(as_json[0]["p3"]) and rows[0]["pct_p0"] == "100.0"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("/cohorts/mrr?cohort=customer_tier", "not a date: a cohort dimension holds each cohort's start"),
        ("/cohorts/mrr?cohort=signup_cohort&dimensions=customer_tier", "dimensions does not apply to a cohort matrix"),
        ("/cohorts/mrr?cohort=signup_cohort&grain=hour", "needs a grain of a day or coarser"),
        ("/cohorts/mrr?cohort=no_such_thing", "Unknown dimension 'no_such_thing'"),
        ("/cohorts/mrr?cohort=signup_cohort&periods=0", "periods"),
        ("/cohorts/mrr", "cohort"),
        ("/cohorts/mrr?cohort=signup_cohort,customer_tier", "name one dimension"),
        ("/cohorts/mrr?cohort=%20", "name one dimension"),
        ("/cohorts/mrr?cohort=signup_cohort&end=9999-06-30", "reaches past the year 9999"),
        # monthly cohorts in a quarterly matrix would be summed: wrong for distinct counts and ratios
        ("/cohorts/mrr?cohort=signup_cohort&grain=quarter&start=2025-01-01", "does not start a quarter"),
        ("/cohorts/mrr?cohort=signup_cohort&grain=week&start=2025-01-01", "does not start a week"),
    ],
)
def test_bad_requests_say_what_would_be_right(client, url, message) -> None:
    response = client.get(url)
    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert message in response.text


def test_the_catalog_tells_each_metrics_coverage_in_the_zone_asked(client, oracle) -> None:
    utc = {m["name"]: m for m in client.get("/metrics?coverage=true").json()["metrics"]}
    berlin = {m["name"]: m for m in client.get("/metrics?coverage=true&tz=Europe/Berlin").json()["metrics"]}
    first, last = oracle.execute(
        "SELECT min(grain_timestamp), max(grain_timestamp) FROM entity.entity_devices_hourly"
    ).fetchone()
    assert utc["device_events"]["coverage"] == {"tz": "UTC", "first": first.isoformat(), "last": last.isoformat()}
    told = berlin["device_events"]["coverage"]
    assert told["tz"] == "Europe/Berlin" and told["first"].endswith(("+01:00", "+02:00"))
    assert datetime.fromisoformat(told["first"]).astimezone(UTC).replace(tzinfo=None) == first
    assert berlin["mrr"]["coverage"] == utc["mrr"]["coverage"] | {"tz": "Europe/Berlin"}  # dates are not shifted
    assert client.get("/metrics").json()["metrics"][0]["coverage"] is None
    assert client.get("/metrics?coverage=true&tz=Mars/Olympus").status_code == 400


def test_a_range_to_the_last_day_there_is(client) -> None:
    for url in ("/metrics/mrr?grain=month&end=9999-12-31&fill=zero", "/metrics/mrr?grain=month&end=9999-12-31"):
        response = client.get(url)
        assert response.status_code in (200, 400), response.text


def test_coverage_reads_each_metrics_own_time_column(demo_copy, project_copy, oracle) -> None:
    """Two metrics on one table with different time columns (neither the table's declared one) each get theirs."""
    (project_copy / "metrics" / "zz_started.yml").write_text(
        """version: 2
metrics:
  - {name: subscriptions_started, model: "ref('entity_subscriptions')", calculation_method: count,
     expression: subscription_id, timestamp: started_at}
  - {name: subscriptions_cancelled, model: "ref('entity_subscriptions')", calculation_method: count,
     expression: subscription_id, timestamp: cancelled_at}
"""
    )
    settings = Settings(database=demo_copy, project_dir=project_copy, now=datetime(2026, 11, 26, 12))
    with app_client(create_app(settings)) as c:
        got = {m["name"]: m.get("coverage") for m in c.get("/metrics?coverage=true").json()["metrics"]}
    for name, column in (("subscriptions_started", "started_at"), ("subscriptions_cancelled", "cancelled_at")):
        first, last = oracle.execute(f"SELECT min({column}), max({column}) FROM entity.entity_subscriptions").fetchone()
        assert got[name] == {"tz": "UTC", "first": first.isoformat(), "last": last.isoformat()}, name
