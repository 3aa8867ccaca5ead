"""The compiler on its own: versions, safety of values, dialects, errors (no database)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from app.compiler.query import MetricQuery
from app.compiler.sql import compile_query
from app.definitions.loader import load_texts, read_definition_files
from app.errors import InvalidQuery

VERSIONED = """\
version: 2
metrics:
  - name: arr_v
    model: ref('entity_customers_daily')
    calculation_method: sum
    expression: annual_recurring_revenue
    timestamp: snapshot_date
    dimensions: [customer_tier]
    version: 2
    previous_versions:
      - version: 1
        expression: monthly_recurring_revenue * 12
        filters: [{field: customer_status, operator: '=', value: "'active'"}]
        sunset_date: 2027-03-01
"""


@pytest.fixture(scope="module")
def project(root: Path, catalog):
    files = read_definition_files(root)
    files["metrics/zz_versioned.yml"] = VERSIONED
    return load_texts(files, catalog)


def sql_of(project, **kwargs) -> str:
    return compile_query(project, MetricQuery(**kwargs)).sql("duckdb")


def test_version_selects_that_versions_definition(project) -> None:
    current = sql_of(project, metrics=("arr_v",), grain="month")
    old = sql_of(project, metrics=("arr_v",), grain="month", version=1)
    assert "annual_recurring_revenue" in current and "customer_status" not in current
    assert "monthly_recurring_revenue" in old and "12" in old and "customer_status" in old
    assert project.metric("arr_v", 1).sunset_date.isoformat() == "2027-03-01"
    with pytest.raises(InvalidQuery, match="Served versions: 1, 2"):
        project.metric("arr_v", 3)


def test_where_values_become_escaped_literals(project) -> None:
    sql = sql_of(project, metrics=("mrr",), where="customer_tier = 'O''Brien''); DROP TABLE x; --'")
    tree = sqlglot.parse_one(sql, read="duckdb")
    literals = [lit.this for lit in tree.find_all(exp.Literal) if lit.is_string]
    assert "O'Brien'); DROP TABLE x; --" in literals
    assert len(sqlglot.parse(sql, read="duckdb")) == 1


def test_division_in_derived_metrics_guards_zero(project) -> None:
    tree = compile_query(project, MetricQuery(metrics=("arpa",), grain="month")).tree
    divisions = list(tree.find_all(exp.Div))
    assert divisions and all(isinstance(d.expression, exp.Nullif) for d in divisions)


def test_metrics_on_one_table_share_one_scan(project) -> None:
    tree = compile_query(
        project, MetricQuery(metrics=("new_mrr", "expansion_mrr", "contraction_mrr", "churned_mrr"), grain="month")
    ).tree
    scanned = [t for t in tree.find_all(exp.Table) if t.name == "entity_subscriptions_monthly"]
    assert len(scanned) == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"metrics": ("mrr",), "grain": "hour"}, "Allowed grains: day, week, month, quarter, year"),
        ({"metrics": ("mrr",), "dimensions": ("custmer_tier",)}, "Did you mean 'customer_tier'"),
        ({"metrics": ("new_mrr",), "dimensions": ("customer.teams.team_type",)}, "fan out"),
        ({"metrics": ("mrr",), "order": ()} | {"where": "churned = 1"}, "not a dimension"),
        ({"metrics": ("mrrr",)}, "Did you mean 'mrr'"),
    ],
)
def test_errors_say_what_would_be_right(project, kwargs, message) -> None:
    with pytest.raises(Exception, match=message):
        compile_query(project, MetricQuery(**kwargs))


def test_bigquery_weeks_are_iso_weeks(project) -> None:
    compiled = compile_query(project, MetricQuery(metrics=("sessions",), grain="week"))
    assert "ISOWEEK" in compiled.sql("bigquery")
    assert "'WEEK'" in compiled.sql("snowflake")
