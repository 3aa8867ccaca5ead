"""Query inputs that answered 500, or another request's answer, now answer 400 with a problem document
(issue 12, points 9 and 10), against a real server with its result cache on."""

from __future__ import annotations

import httpx
import pytest

from tests.helpers import module_server

base = module_server()


def refused(r: httpx.Response, *words: str) -> None:
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    detail = r.json()["detail"]
    for word in words:
        assert word in detail, detail


@pytest.mark.parametrize(
    ("where", "words"),
    [
        ("1e400 = 1", ("out of range",)),
        ("customer_tier = 1e999", ("out of range",)),
        ("- ? -1", ("may not contain",)),
        ("customer_tier = 1 = 1", ("compares a dimension",)),
        ("customer_tier = (customer_tier = 'free')", ("compares a dimension",)),
        ("customer_tier = $p0", ()),
        ("customer_tier = ?", ()),
    ],
)
def test_where_inputs_that_crashed(base, where, words) -> None:
    refused(httpx.get(f"{base}/metrics/mrr", params={"where": where}, timeout=30), *words)


def test_a_cached_shape_does_not_skip_the_allow_list(base) -> None:
    """The same shape as an answered, cached query, with a placeholder for its value."""
    assert httpx.get(f"{base}/metrics/mrr", params={"where": "customer_tier = 'free'"}, timeout=30).status_code == 200
    for where in ("customer_tier = $p0", "customer_tier = $start", "customer_tier = :p0"):
        refused(httpx.get(f"{base}/metrics/mrr", params={"where": where}, timeout=30))


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_in_a_post_body(base, value) -> None:
    body = '{"metrics": ["mrr"], "limit": ' + value + "}"
    r = httpx.post(f"{base}/query", content=body, headers={"content-type": "application/json"}, timeout=30)
    assert r.status_code == 400, r.text
    assert r.json()["errors"][0]["input"] in (value, "nan", "inf", "-inf")


def test_repeated_single_parameters_are_refused_and_never_share_an_answer(base) -> None:
    month_then_year = httpx.get(f"{base}/metrics/mrr?grain=month&grain=year", timeout=30)
    refused(month_then_year, "grain is given 2 times")
    refused(httpx.get(f"{base}/metrics/mrr/sql?dialect=postgres&dialect=duckdb", timeout=30), "dialect")
    # lists may repeat, and their order is the answer's column order: two orders, two answers
    ab = httpx.get(f"{base}/metrics/mrr?dimensions=customer_tier&dimensions=sales_region", timeout=30)
    ba = httpx.get(f"{base}/metrics/mrr?dimensions=sales_region&dimensions=customer_tier", timeout=30)
    assert ab.status_code == ba.status_code == 200
    assert ab.json()["dimensions"] == ["customer_tier", "sales_region"]
    assert ba.json()["dimensions"] == ["sales_region", "customer_tier"]
    assert ba.json()["meta"]["cached"] is False


def test_an_unknown_parameter_repeated_thousands_of_times_is_refused_at_once(base) -> None:
    """30,000 repeats of a parameter the query does not take (60 KB of query string): one 400 naming it, and /health
    keeps answering meanwhile. Counting the repeats again at each one held the event loop for a minute."""
    with httpx.Client(timeout=30) as client:  # either request past 30 s fails the test
        r = client.get(f"{base}/metrics/mrr?" + "x&" * 30_000 + "x=2")
        refused(r, "x")
        assert r.json()["errors"][0]["input"] == "2"  # the last value, as FastAPI quotes it
        assert client.get(f"{base}/health").status_code == 200


def test_a_problem_names_the_path_as_requested(base) -> None:
    """The problem's ``instance`` is the path as the client wrote it: a ``?`` in a metric's name stays encoded."""
    r = httpx.get(f"{base}/metrics/no%3Fpe", timeout=30)
    assert r.status_code == 404 and r.json()["instance"] == "/metrics/no%3Fpe"


@pytest.mark.parametrize("grain", ["day", "hour"])
def test_a_fill_over_millennia_is_refused_before_running(base, grain) -> None:
    params = {"grain": grain, "start": "0001-01-01", "end": "9999-12-31", "fill": "zero"}
    metric = "actions" if grain == "hour" else "mrr"
    r = httpx.get(f"{base}/metrics/{metric}", params=params | {"dimensions": "customer_tier"}, timeout=30)
    refused(r, "TAPFLOW_MAX_ROWS", "periods")


def test_an_open_fill_range_is_clamped_to_the_data(base, oracle) -> None:
    r = httpx.get(
        f"{base}/metrics/mrr", params={"grain": "day", "start": "0001-01-01", "fill": "zero", "limit": 1}, timeout=30
    )
    assert r.status_code == 200, r.text
    first = oracle.execute(
        "SELECT min(snapshot_date) FROM entity.entity_customers_daily WHERE customer_status = 'active'"
    ).fetchone()[0]
    assert r.json()["rows"][0]["period"] == first.isoformat()
