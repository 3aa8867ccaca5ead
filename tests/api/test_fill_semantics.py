"""Fill feeds derived metrics, comparisons and windows; it never replaces their values (DESIGN 4).

Oracles are hand-written SQL over the demo data, combined in Python by the rules themselves."""

from __future__ import annotations

from datetime import date

import pytest


def months(first: date, last: date) -> list[date]:
    out, d = [], first
    while d <= last:
        out.append(d)
        d = date(d.year + d.month // 12, d.month % 12 + 1, 1)
    return out


def prev(d: date) -> date:
    return date(d.year - (d.month == 1), (d.month - 2) % 12 + 1, 1)


def new_mrr_by_line(oracle, first: date, last: date) -> dict[tuple[date, str], float]:
    rows = oracle.execute(
        """SELECT month_start, product_line, sum(new_mrr) FROM entity.entity_subscriptions_monthly
           WHERE month_start BETWEEN ? AND ? GROUP BY ALL""",
        [first, last],
    ).fetchall()
    return {(m, line): float(v) for m, line, v in rows}


@pytest.mark.parametrize("fill", ["zero", "null"])
def test_fill_comes_before_compare(client, oracle, fill) -> None:
    """A filled period compares with the real prior; the prior of the first period is read before start.
    The range starts before the data (January 2024), so its first months are filled."""
    first, last = date(2023, 10, 1), date(2024, 6, 1)
    data = new_mrr_by_line(oracle, prev(first), last)
    lines = sorted({line for _, line in data})
    r = client.get(
        "/metrics/new_mrr",
        params={
            "grain": "month",
            "dimensions": "product_line",
            "start": first.isoformat(),
            "end": "2024-06-30",
            "fill": fill,
            "compare": "prior_period",
        },
    )
    assert r.status_code == 200, r.text
    rows = {(date.fromisoformat(x["period"]), x["product_line"]): x for x in r.json()["rows"]}
    assert set(rows) == {(m, line) for m in months(first, last) for line in lines}
    gaps = 0
    for (m, line), row in rows.items():
        value, prior = data.get((m, line)), data.get((prev(m), line))
        if fill == "zero":
            value, prior = value or 0.0, prior or 0.0
        gaps += (m, line) not in data
        assert row["new_mrr"] == value and row["new_mrr_prior"] == prior, (m, line)
        change = None if value is None or prior is None else value - prior
        assert row["new_mrr_change"] == change
        pct = None if change is None or not prior else change / abs(prior) * 100
        assert row["new_mrr_change_pct"] == pytest.approx(pct) if pct is not None else row["new_mrr_change_pct"] is None
    assert gaps, "the range has filled periods, or this test proves nothing"


@pytest.mark.parametrize("fill", ["zero", "null"])
def test_fill_feeds_a_window_and_never_replaces_its_value(client, oracle, fill) -> None:
    """Months after the last data keep their trailing three-month sums."""
    first, last = date(2026, 7, 1), date(2027, 1, 1)
    totals = {
        m: float(v)
        for m, v in oracle.execute(
            "SELECT month_start, sum(new_mrr) FROM entity.entity_subscriptions_monthly GROUP BY 1"
        ).fetchall()
    }
    r = client.get(
        "/metrics/new_mrr_rolling_3m",
        params={"grain": "month", "start": first.isoformat(), "end": "2027-01-31", "fill": fill},
    )
    assert r.status_code == 200, r.text
    got = {date.fromisoformat(x["period"]): x["new_mrr_rolling_3m"] for x in r.json()["rows"]}
    assert sorted(got) == months(first, last)
    for m, value in got.items():
        window = [totals[w] for w in (m, prev(m), prev(prev(m))) if w in totals]
        expected = sum(window) if window else (0.0 if fill == "zero" else None)
        assert value == pytest.approx(expected) if expected is not None else value is None, m
    assert got[date(2026, 11, 1)] == pytest.approx(totals[date(2026, 10, 1)] + totals[date(2026, 9, 1)])


def test_a_ratio_of_filled_zeros_is_null(client, oracle) -> None:
    """arpa = mrr / active_customers: months before the data begin are filled, and 0/0 is NULL."""
    first_day = oracle.execute("SELECT min(snapshot_date) FROM entity.entity_customers_daily").fetchone()[0]
    start = date(first_day.year - 1, 11, 1)
    r = client.get(
        "/metrics/arpa",
        params={"grain": "month", "start": start.isoformat(), "end": f"{first_day.year}-03-31", "fill": "zero"},
    )
    assert r.status_code == 200, r.text
    rows = {date.fromisoformat(x["period"]): x["arpa"] for x in r.json()["rows"]}
    assert sorted(rows) == months(start, date(first_day.year, 3, 1))
    expected = dict(
        oracle.execute(
            """WITH last AS (SELECT date_trunc('month', snapshot_date)::DATE AS m, max(snapshot_date) AS d
                             FROM entity.entity_customers_daily WHERE customer_status = 'active' GROUP BY 1)
               SELECT m, sum(monthly_recurring_revenue) / count(DISTINCT customer_id)
               FROM entity.entity_customers_daily JOIN last ON snapshot_date = d
               WHERE customer_status = 'active' GROUP BY m"""
        ).fetchall()
    )
    empty = [m for m in rows if m not in expected]
    assert empty, "the range starts before the data"
    for m, value in rows.items():
        assert value is None if m in empty else value == pytest.approx(float(expected[m])), m
