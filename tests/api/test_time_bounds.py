"""start and end are exact at every grain (DESIGN 4); periods only partly inside are listed."""

from __future__ import annotations

import pytest

HAND = """
    SELECT {period} AS period, sum(actions_taken)
    FROM staging.stg_app__user_activities
    WHERE activity_timestamp >= ? AND activity_timestamp < ?
    GROUP BY ALL ORDER BY 1
"""
PERIOD = {
    "hour": "date_trunc('hour', activity_timestamp)",
    "day": "date_trunc('day', activity_timestamp)::DATE",
    "week": "date_trunc('week', activity_timestamp)::DATE",
    "month": "date_trunc('month', activity_timestamp)::DATE",
    "year": "date_trunc('year', activity_timestamp)::DATE",
}


@pytest.mark.parametrize("grain", ["day", "week", "month", "year", None])
@pytest.mark.parametrize(
    ("start", "end", "lo", "hi"),
    [
        ("2026-09-15", "2026-10-20", "2026-09-15", "2026-10-21"),
        ("2026-09-15T10:30:00", "2026-10-20T18:00:00", "2026-09-15 10:30:00", "2026-10-20 18:00:00.000001"),
    ],
    ids=["dates", "timestamps"],
)
def test_both_bounds_are_exact(client, oracle, grain, start, end, lo, hi) -> None:
    params = {"start": start, "end": end} | ({"grain": grain} if grain else {})
    r = client.get("/metrics/actions", params=params)
    assert r.status_code == 200, r.text
    rows = r.json()["rows"]
    if grain is None:
        total = oracle.execute(HAND.format(period="1").replace("GROUP BY ALL ORDER BY 1", ""), [lo, hi]).fetchall()
        assert [row["actions"] for row in rows] == [float(total[0][1])]
        return
    expected = oracle.execute(HAND.format(period=PERIOD[grain]), [lo, hi]).fetchall()
    assert [(row["period"], row["actions"]) for row in rows] == [(p.isoformat(), float(v)) for p, v in expected]


def test_no_grain_equals_the_sum_of_any_grain(client) -> None:
    params = {"start": "2026-09-15", "end": "2026-10-20"}
    total = client.get("/metrics/actions", params=params).json()["rows"][0]["actions"]
    for grain in ("day", "week", "month", "quarter", "year"):
        rows = client.get("/metrics/actions", params=params | {"grain": grain}).json()["rows"]
        assert sum(row["actions"] for row in rows) == total, grain


def test_partial_periods_are_listed(client) -> None:
    r = client.get("/metrics/actions", params={"grain": "month", "start": "2026-09-15", "end": "2026-10-31"})
    assert r.json()["meta"]["partial_periods"] == [
        {"period": "2026-09-01", "partial": True, "from": "2026-09-15", "until": "2026-10-01"}
    ]
    whole = client.get("/metrics/actions", params={"grain": "month", "start": "2026-09-01", "end": "2026-10-31"})
    assert whole.json()["meta"]["partial_periods"] == []


def test_a_comparison_still_reads_the_whole_prior_period(client, oracle) -> None:
    r = client.get(
        "/metrics/actions",
        params={"grain": "month", "start": "2026-09-15", "end": "2026-09-30", "compare": "prior_period"},
    )
    assert r.status_code == 200, r.text
    (row,) = r.json()["rows"]
    current = oracle.execute(HAND.format(period="1"), ["2026-09-15", "2026-10-01"]).fetchall()[0][1]
    prior = oracle.execute(HAND.format(period="1"), ["2026-08-01", "2026-09-01"]).fetchall()[0][1]
    assert (row["actions"], row["actions_prior"]) == (float(current), float(prior))
