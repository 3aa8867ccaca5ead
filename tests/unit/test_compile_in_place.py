"""SQL is generated from the compiler's trees in place (no defensive copy): generating leaves a tree exactly as
it was, so the cached template's tree still renders every dialect and its DuckDB text again the same."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.compiler.plan import duckdb_text
from app.compiler.query import MetricQuery
from app.compiler.sql import DIALECTS, compile_query
from app.definitions.loader import load_texts, read_definition_files

QUERIES = [
    MetricQuery(metrics=("arpa",), grain="month", dimensions=("customer_tier",), compare="prior_year"),
    MetricQuery(
        metrics=("mrr", "active_customers"), grain="quarter", fill="zero", start="2025-01-01", end="2025-12-31"
    ),
    MetricQuery(metrics=("new_mrr_rolling_3m",), grain="month", dimensions=("product_line",), start="2025-03-01"),
    MetricQuery(metrics=("device_error_rate",), grain="week", where="location.city IN ('Berlin', 'Lyon')"),
    MetricQuery(metrics=("team_size",), grain="month", dimensions=("customer.customer_tier@current",)),
    MetricQuery(
        metrics=("net_new_mrr",), grain="month", compare="prior_period", compare_to="same_days", start="2026-09-15"
    ),
]


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: ",".join(q.metrics))
def test_generating_sql_leaves_the_tree_as_it_was(root: Path, catalog, query: MetricQuery) -> None:
    project = load_texts(read_definition_files(root), catalog)
    compiled = compile_query(project, query)
    before = compiled.tree.copy()
    text = duckdb_text(compiled.tree)
    assert compiled.tree == before
    assert text == compiled.duckdb_sql == before.sql("duckdb")
    for dialect in DIALECTS:
        compiled.sql(dialect)
    assert compiled.tree == before and duckdb_text(compiled.tree) == text
