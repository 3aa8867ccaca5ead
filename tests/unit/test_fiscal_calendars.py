"""Fiscal quarters and years, against an oracle written in Python over the same rows and against invariants
(fiscal quarters sum to the months they hold; a fiscal year's balance is its last month's)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from app.compiler.query import MetricQuery
from app.definitions.loader import load_texts
from app.engine.database import read_catalog
from app.engine.runner import run_metric_query
from app.errors import InvalidQuery

FIRST, LAST = date(2024, 1, 1), date(2026, 12, 31)

DEFINITIONS = {
    "entities/ledger.yml": """
version: 2
entities:
  - name: sales
    primary_key: sale_id
    tables:
      current: {name: app.sales, grain: event, timestamp: sold_on}
    dimensions:
      - {name: region}
  - name: accounts
    primary_key: account
    tables:
      daily: {name: app.balances, grain: day, timestamp: day}
    columns:
      - {name: balance, semi_additive: true}
""",
    "metrics/ledger.yml": """
version: 2
metrics:
  - {name: revenue, entity: sales, calculation_method: sum, expression: amount, timestamp: sold_on,
     dimensions: [region]}
  - {name: balance, entity: accounts, calculation_method: sum, expression: balance, timestamp: day}
""",
}


def _sales() -> list[tuple[int, date, int, str]]:
    out, day = [], FIRST
    while day <= LAST:
        for k in range(1 + day.toordinal() % 3):
            i = len(out)
            out.append((i, day, (day.toordinal() * 7 + k) % 100, ("north", "south")[i % 2]))
        day += timedelta(days=1)
    return out


SALES = _sales()


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory):
    con = duckdb.connect(str(Path(tmp_path_factory.mktemp("fiscal")) / "ledger.duckdb"))
    con.execute("CREATE SCHEMA app")
    con.execute("CREATE TABLE app.sales (sale_id INTEGER, sold_on DATE, amount INTEGER, region VARCHAR)")
    con.executemany("INSERT INTO app.sales VALUES (?, ?, ?, ?)", SALES)
    con.execute(
        "CREATE TABLE app.balances AS SELECT d::DATE AS day, a AS account, (epoch(d) // 86400) % 1000 + a AS balance "
        "FROM range(DATE '2024-01-01', DATE '2027-01-01', INTERVAL 1 DAY) t(d), range(3) s(a)"
    )
    yield con, load_texts(DEFINITIONS, read_catalog(con))
    con.close()


def answer(ledger, **query) -> list[dict]:
    con, project = ledger
    return run_metric_query(con, project, MetricQuery(**query), timeout_s=60).rows


def fiscal_name(day: date, first_month: int, quarters: bool) -> str:
    """FY<the calendar year the fiscal year ends in>[-Q<n>], counted by hand."""
    months_in = (day.month - first_month) % 12
    start_year = day.year if day.month >= first_month else day.year - 1
    ends = start_year + (1 if first_month > 1 else 0)
    return f"FY{ends}" + (f"-Q{months_in // 3 + 1}" if quarters else "")


@pytest.mark.parametrize("first_month", [1, 2, 7, 11])
@pytest.mark.parametrize("grain", ["fiscal_quarter", "fiscal_year"])
def test_fiscal_periods_sum_what_python_counts_in_them(ledger, first_month, grain) -> None:
    start, end = date(2024, 3, 1), date(2026, 10, 31)
    expected: dict[str, int] = defaultdict(int)
    for _, day, amount, _ in SALES:
        if start <= day <= end:
            expected[fiscal_name(day, first_month, grain == "fiscal_quarter")] += amount
    rows = answer(ledger, metrics="revenue", grain=grain, start=str(start), end=str(end), fiscal_year_start=first_month)
    assert {r["fiscal_period"]: r["revenue"] for r in rows} == expected
    for r in rows:  # the period is the fiscal period's first day (or start, for the first one)
        first = date.fromisoformat(r["period"])
        assert first.day == 1 and (first.month - first_month) % (3 if grain == "fiscal_quarter" else 12) == 0
        assert fiscal_name(first, first_month, grain == "fiscal_quarter") == r["fiscal_period"]


def test_fiscal_quarters_and_years_sum_to_the_calendar_total(ledger) -> None:
    query = {"metrics": "revenue", "start": "2024-02-01", "end": "2026-01-31", "fiscal_year_start": 2}
    months = sum(r["revenue"] for r in answer(ledger, grain="month", **query))
    for grain in ("fiscal_quarter", "fiscal_year", "quarter", "year"):
        assert sum(r["revenue"] for r in answer(ledger, grain=grain, **query)) == months, grain
    con, _ = ledger
    (hand,) = con.execute(
        "SELECT sum(amount) FROM app.sales WHERE sold_on BETWEEN '2024-02-01' AND '2026-01-31'"
    ).fetchone()
    assert months == hand


def test_a_fiscal_years_balance_is_its_last_months(ledger) -> None:
    months = {r["period"]: r["balance"] for r in answer(ledger, metrics="balance", grain="month")}
    years = answer(ledger, metrics="balance", grain="fiscal_year", fiscal_year_start=7)
    assert [r["fiscal_period"] for r in years] == ["FY2024", "FY2025", "FY2026", "FY2027"]
    for r in years[:-1]:  # the last one ends after the data: its last month is the data's
        last_month = date.fromisoformat(r["period"]).replace(year=int(r["fiscal_period"][2:]), month=6)
        assert r["balance"] == months[str(last_month)]
    assert years[-1]["balance"] == months["2026-12-01"]


def test_prior_year_compares_fiscal_years(ledger) -> None:
    rows = answer(ledger, metrics="revenue", grain="fiscal_year", fiscal_year_start=4, compare="prior_year")
    for before, after in zip(rows, rows[1:], strict=False):
        assert after["revenue_prior"] == before["revenue"]
    quarters = answer(ledger, metrics="revenue", grain="fiscal_quarter", fiscal_year_start=4, compare="prior_period")
    for before, after in zip(quarters, quarters[1:], strict=False):
        assert after["revenue_prior"] == before["revenue"]


def test_a_fiscal_grain_needs_months_and_a_start_month_of_the_year() -> None:
    with pytest.raises(InvalidQuery, match="fiscal_quarter, fiscal_year"):
        MetricQuery(metrics="revenue", grain="fiscal_month")
    with pytest.raises(ValueError, match="less than or equal to 12"):
        MetricQuery(metrics="revenue", grain="fiscal_year", fiscal_year_start=13)


def test_fiscal_quarters_from_february_equal_hand_sql(ledger) -> None:
    """Hand SQL numbers the fiscal quarters by months since February of year 0, in threes."""
    con, _ = ledger
    hand = con.execute(
        """SELECT (year(sold_on) * 12 + month(sold_on) - 2) // 3 AS q, sum(amount) FROM app.sales
           WHERE sold_on BETWEEN DATE '2024-02-01' AND DATE '2026-01-31' GROUP BY 1 ORDER BY 1"""
    ).fetchall()
    rows = answer(
        ledger, metrics="revenue", grain="fiscal_quarter", start="2024-02-01", end="2026-01-31", fiscal_year_start=2
    )
    assert [r["revenue"] for r in rows] == [v for _, v in hand] and len(rows) == 8
    years = answer(
        ledger, metrics="revenue", grain="fiscal_year", start="2024-02-01", end="2026-01-31", fiscal_year_start=2
    )
    assert [(r["fiscal_period"], r["revenue"]) for r in years] == [
        ("FY2025", sum(v for q, v in hand[:4])),
        ("FY2026", sum(v for q, v in hand[4:])),
    ]
