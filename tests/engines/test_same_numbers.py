"""The same metrics give the same numbers on PostgreSQL and on Apache Spark as on DuckDB, to the cent.

DuckDB's answers are held to hand-written SQL across tests/api and tests/unit; here every query of the corpus
(tests/engines/corpus.py: each calculation method, semi-additive snapshots, windows, derived metrics, compare,
fill, joined, point-in-time and computed dimensions, time zones and calendars) runs on DuckDB and on each other
engine over the same rows, compiled against that engine's own catalog as the service does, and must agree row by
row, with the same partial periods.
"""

from __future__ import annotations

from typing import Any

import pytest

from app.compiler.query import MetricQuery
from app.engine.runner import run_metric_query
from tests.engines.corpus import CORPUS, assert_same_to_the_cent

# Spark runs the representative set of 26 (the suite's time on two cores): each calculation method,
# semi-additive month, quarter and (fiscal) year, windows, ratios, each compare, fill between both bounds, every
# where form, joined, point-in-time and computed dimensions, three zones, fiscal calendars, order and offset.
SPARK = [0, 1, 3, 5, 6, 9, 11, 14, 15, 16, 18, 21, 22, 23, 24, 26, 30, 33, 34, 35, 38, 40, 41, 42, 45, 46]
CASES = [("on_pg", i) for i in range(len(CORPUS))] + [("on_spark", i) for i in SPARK]


@pytest.mark.parametrize(
    ("engine", "index"), CASES, ids=[f"{'postgres' if e == 'on_pg' else 'spark'}-{i:02d}" for e, i in CASES]
)
def test_answers_equal_duckdb(duck: Any, engine: str, index: int, request: pytest.FixtureRequest) -> None:
    query = CORPUS[index]
    warehouse, project = request.getfixturevalue(engine)
    q = MetricQuery(**query, pre_aggregations="off")
    expected = run_metric_query(duck[0], duck[1], q, timeout_s=120, rollups={})
    got = run_metric_query(warehouse, project, q, timeout_s=120, rollups={})
    assert expected.rows, "the corpus asks for data that exists"
    assert [c.name for c in got.columns] == [c.name for c in expected.columns]
    # equal periods and dimension values may come in either order; ordered answers must not
    assert_same_to_the_cent(got.rows, expected.rows, ordered=bool(q.order))
    assert got.partial_periods == expected.partial_periods
    assert got.truncated == expected.truncated
