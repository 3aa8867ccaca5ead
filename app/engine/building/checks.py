"""Data tests declared beside a table (DESIGN 11): each is one query counting the offending rows, with a
sample of their keys; results go to ``meta.test_results``."""

from __future__ import annotations

import json
import uuid
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp

from app.compiler.dialects import render
from app.compiler.query import MetricQuery
from app.compiler.sql import CompiledQuery, compile_query
from app.definitions.diagnostics import did_you_mean
from app.definitions.expressions import parse_expression
from app.definitions.project import BoundTable, Project
from app.definitions.spec import GRAINS, DataTest
from app.engine.building.statements import bounded, col, in_batch, table
from app.engine.database import transaction
from app.engine.executor import WATCHDOG
from app.engine.runner import tables_read
from app.engine.warehouse import Warehouse
from app.errors import QueryTimeout, TapflowError, UnknownTable

SAMPLE = 5
TEST_TIMEOUT_S = 300.0  # a test's query on another warehouse without TAPFLOW_BUILD_BATCH_TIMEOUT_S


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


def run_tests(
    con: duckdb.DuckDBPyConnection,
    project: Project,
    name: str,
    run_id: str,
    window: tuple[datetime, datetime] | None = None,
    timeout_s: float | None = None,
    record: bool = True,
    warehouse: Warehouse | None = None,
    columns: dict[str, str] | None = None,
) -> list[TestResult]:
    """Run the tests of the table ``name`` (of an incremental table, on ``window`` when given) and record them
    in ``con``; the table is in ``warehouse`` when it is another engine than the DuckDB file. ``columns``: the
    table's as built (definitions read before its first build only knew what the entity declares)."""
    bound = next((t for t in project.tables.values() if t.name.lower() == name.lower()), None)
    tests = tests_of(project, bound, columns) if bound is not None else []
    if bound is None or not tests:
        return []
    results = [_run(con, warehouse, project, bound, test, window, timeout_s) for test in tests]
    if record:
        record_results(con, run_id, results)
    return results


def metric_tests(
    con: duckdb.DuckDBPyConnection,
    project: Project,
    run_id: str,
    windows: dict[str, tuple[datetime, datetime] | None] | None = None,
    timeout_s: float | None = None,
    record: bool = True,
    warehouse: Warehouse | None = None,
) -> list[TestResult]:
    """Run the metrics' assertions and record them. With ``windows`` (the tables a run built, and the range
    built of each incremental one), only the assertions over those tables, and when every table they read
    was built incrementally, only the periods from the earliest batch on."""
    results = []
    for m in project.metrics.values():
        for text in m.spec.assertions:
            compiled, condition = _metric_condition(project, text)
            read = tables_read(compiled)
            if windows is not None and not read & windows.keys():
                continue
            ranges = [windows.get(t) for t in read] if windows is not None else [None]
            if all(ranges):
                since = min(r[0] for r in ranges if r).date()
                compiled, condition = _metric_condition(project, text, since)
            results.append(_run_metric_test(con, warehouse, m.name, text, compiled, condition, timeout_s))
    if record:
        record_results(con, run_id, results)
    return results


def _metric_condition(project: Project, text: str, since: date | None = None) -> tuple[CompiledQuery, exp.Expr]:
    """The query of the metrics an assertion names, at the finest grain they share (one total if none), from
    ``since`` when given, and the condition."""
    condition = parse_expression(text)
    names = list(dict.fromkeys(c.name for c in condition.find_all(exp.Column)))
    shared = [g for g in GRAINS if all(g in project.metric(n).grains for n in names)]
    query = MetricQuery.model_validate({"metrics": names, "grain": shared[0] if shared else None, "start": since})
    return compile_query(project, query.model_copy(update={"limit": None})), condition


def _run_metric_test(
    con: duckdb.DuckDBPyConnection,
    warehouse: Warehouse | None,
    metric: str,
    text: str,
    compiled: CompiledQuery,
    condition: exp.Expr,
    timeout_s: float | None,
) -> TestResult:
    """The periods (labelled by the query's first column) where the condition is false or unknown."""
    failing = exp.func("coalesce", condition.copy(), exp.false()).not_()
    periods = exp.select(exp.cast(col(compiled.columns[0].name, "m"), "VARCHAR")).from_(compiled.tree.subquery("m"))
    name = f"assert({text})"
    try:
        count, sample = _offenders(con, warehouse, periods.where(failing), compiled.params, timeout_s)
    except (duckdb.Error, TapflowError) as exc:
        return TestResult(f"metric:{metric}", name, "error", 0, [], _why(exc, timeout_s))
    return TestResult(f"metric:{metric}", name, "fail" if count else "pass", count, [r[0] for r in sample])


def _offenders(
    con: duckdb.DuckDBPyConnection,
    warehouse: Warehouse | None,
    rows: exp.Select,
    params: dict[str, Any],
    timeout_s: float | None,
) -> tuple[int, list[tuple[Any, ...]]]:
    """How many rows ``rows`` selects, and, when there are any, the first SAMPLE of them."""
    total = exp.select(exp.func("count", exp.Star())).from_(rows.subquery("o"))
    failing = int(_select(con, warehouse, total, params, timeout_s)[0][0])
    if not failing:
        return 0, []
    return failing, [tuple(r) for r in _select(con, warehouse, rows.limit(SAMPLE), params, timeout_s)]


def _select(
    con: duckdb.DuckDBPyConnection,
    warehouse: Warehouse | None,
    query: exp.Query,
    params: dict[str, Any],
    timeout_s: float | None,
) -> list[tuple[Any, ...]]:
    """The rows of ``query`` on the DuckDB file (stopped past ``timeout_s``), or on another warehouse."""
    if warehouse is not None:
        text = render(query, warehouse.dialect)
        return list(warehouse.select(text, timeout_s=timeout_s or TEST_TIMEOUT_S, params=params).rows)
    cur = con.cursor()
    try:
        with _watched(cur, timeout_s):
            return cur.execute(query.sql("duckdb"), params).fetchall()
    finally:
        cur.close()


def record_results(con: duckdb.DuckDBPyConnection, run_id: str, results: list[TestResult]) -> None:
    """Results into ``meta.test_results``, in one transaction."""
    if results:
        with transaction(con) as cur:
            insert_results(cur, run_id, results)


def insert_results(cur: duckdb.DuckDBPyConnection, run_id: str, results: list[TestResult]) -> None:
    """One INSERT for all results (executemany would run one per row), stamped by the database's clock."""
    if not results:
        return
    columns = list(
        zip(
            *[(r.table, r.test, r.status, r.failing, json.dumps(r.sample, default=str), r.detail) for r in results],
            strict=True,
        )
    )
    cur.execute(
        "INSERT INTO meta.test_results SELECT ?, now(), unnest(?), unnest(?), unnest(?), unnest(?::BIGINT[]), "
        "unnest(?::JSON[]), unnest(?)",
        [run_id, *map(list, columns)],
    )


def test_tables(
    con: duckdb.DuckDBPyConnection,
    project: Project,
    names: list[str],
    timeout_s: float | None = None,
    warehouse: Warehouse | None = None,
) -> list[TestResult]:
    """Run the tests of ``names`` (every table with tests when empty), recorded under one run id in ``con``;
    the tables are in ``warehouse`` when it is another engine."""
    run_id = "test-" + uuid.uuid4().hex[:8]
    tables = sorted({t.name.lower() for t in project.tables.values() if tests_of(project, t)})
    unknown = [n for n in names if n.lower() not in tables]
    if unknown:
        raise UnknownTable(f"No tests declared on '{unknown[0][:100]}'. {did_you_mean(unknown[0], tables)}")
    results = [
        r for name in (names or tables) for r in run_tests(con, project, name, run_id, None, timeout_s, True, warehouse)
    ]
    return results if names else results + metric_tests(con, project, run_id, None, timeout_s, True, warehouse)


def tests_of(project: Project, bound: BoundTable, columns: dict[str, str] | None = None) -> list[DataTest]:
    """The tests declared beside a table, then, on a built table, ``accepted_values`` of each dimension of its
    entity that declares them and that the table carries (the allowed values are enforced, not only listed)."""
    has = bound.has if columns is None else (lambda name: name.lower() in columns)
    tests = list(bound.spec.tests)
    if bound.spec.build is None:
        return tests
    declared = {t.accepted_values.column.lower() for t in tests if t.accepted_values}
    for dim in project.entities[bound.entity].dimensions:
        if dim.accepted_values and dim.name.lower() not in declared and has(dim.name) and bound.columns:
            implied = {"column": dim.name, "values": list(dim.accepted_values)}
            tests.append(DataTest.model_validate({"accepted_values": implied}))
    return tests


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


def _plain(value: Any) -> Any:
    """A sample key as JSON has it (a day as 2026-10-31, a decimal as a number)."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _watched(cur: duckdb.DuckDBPyConnection, timeout_s: float | None) -> AbstractContextManager[None]:
    return WATCHDOG.watching(cur, timeout_s) if timeout_s else nullcontext()


def _why(exc: duckdb.Error | TapflowError, timeout_s: float | None) -> str:
    if isinstance(exc, duckdb.InterruptException | QueryTimeout) and timeout_s:
        return f"ran longer than {timeout_s:g} s (TAPFLOW_BUILD_BATCH_TIMEOUT_S) and was stopped"
    if isinstance(exc, QueryTimeout):
        return f"ran longer than {TEST_TIMEOUT_S:g} s, the limit of a test without TAPFLOW_BUILD_BATCH_TIMEOUT_S"
    return exc.detail[:300] if isinstance(exc, TapflowError) else str(exc).split("\n")[0][:300]


def _run(
    con: duckdb.DuckDBPyConnection,
    warehouse: Warehouse | None,
    project: Project,
    bound: BoundTable,
    test: DataTest,
    window: tuple[datetime, datetime] | None,
    timeout_s: float | None,
) -> TestResult:
    name = label(test)
    try:
        if test.row_count_change is not None:
            return _row_count(con, bound, test.row_count_change.max_ratio, name)
        offending, keys = _offending(project, bound, test, window)
        failing, found = _offenders(con, warehouse, exp.select(*keys).from_(offending.subquery("o")), {}, timeout_s)
        sample = [_plain(r[0]) if len(r) == 1 else [_plain(v) for v in r] for r in found]
    except (duckdb.Error, TapflowError) as exc:
        return TestResult(bound.name, name, "error", 0, [], _why(exc, timeout_s))
    return TestResult(bound.name, name, "fail" if failing else "pass", failing, sample)


def _aliased(src: exp.Expr, alias: str) -> exp.Expr:
    out = src.copy()
    out.set("alias", exp.TableAlias(this=exp.to_identifier(alias)))
    return out


def _offending(
    project: Project, bound: BoundTable, test: DataTest, window: tuple[datetime, datetime] | None
) -> tuple[exp.Query, list[exp.Expr]]:
    """The offending rows (or groups) and the columns that name them in a sample."""
    entity = project.entities[bound.entity]
    pk = entity.primary_key
    key_cols = [pk] if bound.has(pk) else []
    if bound.spec.timestamp and bound.has(bound.spec.timestamp) and key_cols:
        key_cols.append(bound.spec.timestamp)
    src: exp.Expr = table(bound.name)
    by = bound.spec.build.incremental.by if bound.spec.build and bound.spec.build.incremental else None
    if window is not None and by is not None and (not test.unique or by.lower() in {c.lower() for c in test.unique}):
        # a run of an incremental table is tested on the batches it built: rows elsewhere were tested when built
        src = exp.select(exp.Star()).from_(table(bound.name)).where(bounded(in_batch(col(by)), *window)).subquery("w")
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
        rows = exp.select(c.as_(test.relationships.column)).from_(_aliased(src, "t")).where(cond).distinct()
        return rows, [col(test.relationships.column)]
    assert test.expression is not None
    condition = sqlglot.parse_one(test.expression, dialect="duckdb")
    rows = exp.select(exp.Star()).from_(src).where(exp.func("coalesce", condition, exp.false()).not_())
    return rows, [col(c) for c in key_cols] or [exp.Star()]


def _row_count(con: duckdb.DuckDBPyConnection, bound: BoundTable, ratio: float, name: str) -> TestResult:
    """The last batch's rows per hour of its range against the median of the 30 batches before it (a partial
    batch, such as today's, is judged at its own length)."""
    rows = con.execute(
        "SELECT rows_out, greatest(epoch(batch_end - batch_start) / 3600, 1) FROM meta.build_runs "
        "WHERE table_name = ? AND status = 'success' ORDER BY finished_at DESC, seq DESC LIMIT 31",
        [bound.name.lower()],
    ).fetchall()
    if len(rows) < 4:
        return TestResult(bound.name, name, "pass", 0, [], "fewer than 4 batches built: nothing to compare")
    rates = [r[0] / r[1] for r in rows]
    last, before = rates[0], sorted(rates[1:])
    median = before[len(before) // 2]
    off = median > 0 and not (median / ratio <= last <= median * ratio)
    detail = f"last batch {rows[0][0]:,} rows ({last:,.1f} an hour), trailing median {median:,.1f} an hour"
    return TestResult(bound.name, name, "fail" if off else "pass", 1 if off else 0, [rows[0][0]], detail)
