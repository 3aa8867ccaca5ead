"""Computed dimensions (an entity dimension that is an expression over its columns), against hand-written SQL
on the tiny warehouse: as a dimension, in where and order, through a relationship path; and their checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.compiler.query import MetricQuery
from app.definitions.loader import load_texts, read_definition_files
from app.engine.database import read_catalog
from app.engine.runner import run_metric_query
from app.errors import DefinitionError, InvalidQuery

BAND = (
    "CASE WHEN team_size < 5 THEN 'under 5' WHEN team_size < 10 THEN '5-9' WHEN team_size < 20 THEN '10-19' "
    "ELSE '20+' END"
)


@pytest.fixture(scope="module")
def files(root: Path) -> dict[str, str]:
    return read_definition_files(root)


@pytest.fixture(scope="module")
def run(wh, files):
    project = load_texts(files, read_catalog(wh))

    def run_query(**query) -> list[tuple]:
        result = run_metric_query(wh, project, MetricQuery(**query), timeout_s=60)
        return [tuple(row.values()) for row in result.rows]

    return run_query


def hand(wh, sql: str) -> list[tuple]:
    return [tuple(v.isoformat() if hasattr(v, "isoformat") else v for v in row) for row in wh.execute(sql).fetchall()]


def test_a_computed_dimension_through_a_relationship_path(run, wh) -> None:
    got = run(metrics="new_mrr", grain="month", dimensions="customer.signup_cohort")
    expected = hand(
        wh,
        """SELECT s.month_start, CAST(date_trunc('month', c.signup_date) AS DATE) AS cohort, sum(s.new_mrr)::DOUBLE
           FROM entity.entity_subscriptions_monthly s LEFT JOIN entity.entity_customers c USING (customer_id)
           GROUP BY ALL ORDER BY 1, 2""",
    )
    assert got == expected and len({row[1] for row in got}) > 2


def test_a_computed_dimension_of_the_metrics_own_entity_in_where_and_order(run, wh) -> None:
    got = run(
        metrics="mrr",
        grain="month",
        dimensions="signup_cohort",
        where="signup_cohort >= DATE '2024-06-01' AND signup_cohort <> DATE '2025-02-01'",
        order="-signup_cohort,period",
    )
    expected = hand(
        wh,
        """WITH a AS (SELECT d.*, CAST(date_trunc('month', c.signup_date) AS DATE) AS cohort
                      FROM entity.entity_customers_daily d JOIN entity.entity_customers c USING (customer_id)
                      WHERE d.customer_status = 'active'),
                l AS (SELECT CAST(date_trunc('month', snapshot_date) AS DATE) AS p, max(snapshot_date) AS d FROM a
                      GROUP BY 1)
           SELECT l.p, a.cohort, sum(a.monthly_recurring_revenue)::DOUBLE FROM l JOIN a ON a.snapshot_date = l.d
           WHERE a.cohort >= DATE '2024-06-01' AND a.cohort <> DATE '2025-02-01'
           GROUP BY ALL ORDER BY 2 DESC, 1""",
    )
    assert got == expected and got


def test_a_computed_band_reads_each_rows_own_columns(run, wh) -> None:
    """team_size_band on the daily table is the band of that day's team size; it sums to the total."""
    got = run(metrics="team_member_days", grain="month", dimensions="team_size_band")
    expected = hand(
        wh,
        f"""SELECT CAST(date_trunc('month', snapshot_date) AS DATE), {BAND}, sum(team_size)::DOUBLE
            FROM entity.entity_teams_daily GROUP BY ALL ORDER BY 1, 2""",
    )
    assert got == expected and {row[1] for row in got} == {"under 5", "5-9"}
    totals = dict(run(metrics="team_member_days", grain="month"))
    by_month: dict[str, float] = {}
    for period, _, value in got:
        by_month[period] = by_month.get(period, 0) + value
    assert by_month == totals


def test_a_computed_dimension_in_where_only(run, wh) -> None:
    [(value,)] = run(metrics="team_member_days", where="team_size_band = '5-9'")
    [(expected,)] = wh.execute(f"SELECT sum(team_size) FROM entity.entity_teams_daily WHERE {BAND} = '5-9'").fetchall()
    assert value == expected


def change_teams(files: dict[str, str], old: str, new: str) -> dict[str, str]:
    assert old in files["entities/teams.yml"]
    return files | {"entities/teams.yml": files["entities/teams.yml"].replace(old, new)}


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("(select max(team_size) from entity.entity_teams)", "subquer"),
        ("read_text('/etc/passwd')", "read_text"),
        ("max(team_size)", "must not aggregate"),
        ("team_sise + 1", "'team_sise' is not a column of entity.entity_teams. Did you mean 'team_size'"),
        ("t.team_size", "write the entity's columns unqualified"),
        ("team_size_band || 'x'", "is a computed dimension too"),
        ("case when", "is not valid SQL"),
    ],
)
def test_a_computed_dimension_is_checked(files, wh, expression, message) -> None:
    bad = change_teams(
        files,
        "      - {name: team_name, type: string}\n",
        f'      - {{name: team_name, type: string}}\n      - {{name: odd, expression: "{expression}"}}\n',
    )
    with pytest.raises(DefinitionError) as caught:
        load_texts(bad, read_catalog(wh))
    problems = [p for p in caught.value.errors if "dimensions" in p["key"]]
    assert any(message in p["message"] for p in problems), caught.value.errors
    assert all(p["file"] == "entities/teams.yml" and p["line"] > 0 for p in problems)


def test_a_computed_dimension_may_not_take_a_columns_name(files, wh) -> None:
    bad = change_teams(files, "      - name: team_size_band\n", "      - name: team_size\n")
    with pytest.raises(DefinitionError, match="has the name of a column of entity.entity_teams"):
        load_texts(bad, read_catalog(wh))


def test_current_on_a_dimension_computed_from_the_metrics_own_rows_says_so(run) -> None:
    with pytest.raises(InvalidQuery, match="'team_size_band' is computed from the metric's own rows; @current"):
        run(metrics="team_member_days", dimensions="team_size_band@current")


def test_a_computed_dimension_declares_its_type(files, wh) -> None:
    untyped = change_teams(
        files, "      - name: team_size_band\n        type: string\n", "      - name: team_size_band\n"
    )
    with pytest.raises(DefinitionError, match="computed dimension 'team_size_band' declares no type"):
        load_texts(untyped, read_catalog(wh))
