"""Data tests declared beside a table (DESIGN 11): each is one query counting the offending rows, with a
sample of their keys; results go to ``meta.test_results``."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp

from app.definitions.project import BoundTable, Project
from app.definitions.spec import DataTest
from app.engine.building.statements import col, table
from app.engine.database import transaction
from app.errors import BuildError

SAMPLE = 5


@dataclass
class TestResult:
    __test__ = False  # not a pytest class

    table: str
    test: str  # e.g. unique(team_id)
    status: str  # pass | fail | error
    failing: int
    sample: list[Any]
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "test": self.test,
            "status": self.status,
            "failing": self.failing,
            "sample": self.sample,
            "detail": self.detail,
        }


def run_tests(con: duckdb.DuckDBPyConnection, project: Project, name: str, run_id: str) -> list[TestResult]:
    """Run the tests of the table ``name`` and record them."""
    bound = next((t for t in project.tables.values() if t.name.lower() == name.lower()), None)
    if bound is None or not bound.spec.tests:
        return []
    results = [_run(con, project, bound, test) for test in bound.spec.tests]
    with transaction(con) as cur:
        cur.executemany(
            "INSERT INTO meta.test_results VALUES (?, now(), ?, ?, ?, ?, ?, ?)",  # the database's clock, as builds
            [
                [run_id, r.table, r.test, r.status, r.failing, json.dumps(r.sample, default=str), r.detail]
                for r in results
            ],
        )
    return results


def test_tables(con: duckdb.DuckDBPyConnection, project: Project, names: list[str]) -> list[TestResult]:
    """Run the tests of ``names`` (every table with tests when empty), recorded under one run id."""
    run_id = "test-" + uuid.uuid4().hex[:8]
    tables = sorted({t.name.lower() for t in project.tables.values() if t.spec.tests})
    unknown = [n for n in names if n.lower() not in tables]
    if unknown:
        raise BuildError(
            f"No tests declared on {', '.join(unknown)}. Tables with tests: {', '.join(tables) or 'none'}."
        )
    return [r for name in (names or tables) for r in run_tests(con, project, name, run_id)]


def label(test: DataTest) -> str:
    """``unique(team_id)``, ``accepted_values(team_type)``, ``expression(mrr >= 0)``."""
    if test.unique or test.not_null:
        return f"{test.kind}({', '.join(test.unique or test.not_null or ())})"
    if test.accepted_values:
        return f"accepted_values({test.accepted_values.column})"
    if test.relationships:
        return f"relationships({test.relationships.column} -> {test.relationships.to})"
    if test.expression:
        return f"expression({test.expression})"
    return "row_count_change"


def _run(con: duckdb.DuckDBPyConnection, project: Project, bound: BoundTable, test: DataTest) -> TestResult:
    name = label(test)
    try:
        if test.row_count_change is not None:
            return _row_count(con, bound, test.row_count_change.max_ratio, name)
        offending, keys = _offending(project, bound, test)
        cur = con.cursor()
        try:
            count = cur.execute(exp.select(exp.func("count", exp.Star())).from_(offending.subquery("o")).sql("duckdb"))
            failing = int((count.fetchone() or (0,))[0])
            sample = []
            if failing:
                q = exp.select(*keys).from_(offending.subquery("o")).limit(SAMPLE)
                sample = [r[0] if len(r) == 1 else list(r) for r in cur.execute(q.sql("duckdb")).fetchall()]
        finally:
            cur.close()
    except duckdb.Error as exc:
        return TestResult(bound.name, name, "error", 0, [], str(exc).split("\n")[0][:300])
    return TestResult(bound.name, name, "fail" if failing else "pass", failing, sample)


def _offending(project: Project, bound: BoundTable, test: DataTest) -> tuple[exp.Query, list[exp.Expr]]:
    """The offending rows (or groups) and the columns that name them in a sample."""
    entity = project.entities[bound.entity]
    pk = entity.primary_key
    key_cols = [pk] if bound.has(pk) else []
    if bound.spec.timestamp and bound.has(bound.spec.timestamp) and key_cols:
        key_cols.append(bound.spec.timestamp)
    src = table(bound.name)
    if test.unique:
        cols = [col(c) for c in test.unique]
        dup = exp.select(*cols).from_(src).where(exp.and_(*(c.is_(exp.null()).not_() for c in cols))).group_by(*cols)
        return dup.having(exp.func("count", exp.Star()) > 1), [col(c) for c in test.unique]
    if test.not_null:
        cond = exp.or_(*(col(c).is_(exp.null()) for c in test.not_null))
        return exp.select(exp.Star()).from_(src).where(cond), [col(c) for c in key_cols or test.not_null]
    if test.accepted_values:
        c = col(test.accepted_values.column)
        values = [exp.convert(v) for v in test.accepted_values.values]
        cond = exp.and_(c.is_(exp.null()).not_(), exp.In(this=c.copy(), expressions=values).not_())
        return exp.select(c).from_(src).where(cond).distinct(), [col(test.accepted_values.column)]
    if test.relationships:
        to = project.current_table(test.relationships.to)
        target_pk = project.entities[test.relationships.to].primary_key
        c = col(test.relationships.column, "t")
        exists = exp.select("1").from_(table(to.name, "r")).where(col(target_pk, "r").eq(c.copy()))
        cond = exp.and_(c.is_(exp.null()).not_(), exp.Exists(this=exists).not_())
        rows = exp.select(c.as_(test.relationships.column)).from_(table(bound.name, "t")).where(cond).distinct()
        return rows, [col(test.relationships.column)]
    assert test.expression is not None
    condition = sqlglot.parse_one(test.expression, dialect="duckdb")
    rows = exp.select(exp.Star()).from_(src).where(exp.func("coalesce", condition, exp.false()).not_())
    return rows, [col(c) for c in key_cols] or [exp.Star()]


def _row_count(con: duckdb.DuckDBPyConnection, bound: BoundTable, ratio: float, name: str) -> TestResult:
    """The last batch's rows against the median of the 30 before it."""
    rows = con.execute(
        "SELECT rows_out FROM meta.build_runs WHERE table_name = ? AND status = 'success' "
        "ORDER BY finished_at DESC, seq DESC LIMIT 31",
        [bound.name.lower()],
    ).fetchall()
    if len(rows) < 4:
        return TestResult(bound.name, name, "pass", 0, [], "fewer than 4 batches built: nothing to compare")
    last, before = rows[0][0], sorted(r[0] for r in rows[1:])
    median = before[len(before) // 2]
    off = median > 0 and not (median / ratio <= last <= median * ratio)
    detail = f"last batch {last:,} rows, trailing median {median:,}"
    return TestResult(bound.name, name, "fail" if off else "pass", 1 if off else 0, [last], detail)
