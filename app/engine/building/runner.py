"""Run a build plan: each batch in one transaction with its record in ``meta.build_runs`` and a data version
bump (readers see a batch's old rows or its new ones, never half), then the table's tests."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb
from sqlglot import exp

from app.compiler.dialects import render
from app.definitions.project import Project
from app.engine.building import statements as st
from app.engine.building.checks import TestResult, insert_results, metric_tests, run_tests
from app.engine.building.plan import EPOCH, Batch, BuildPlan, TablePlan, asked_span, prepare
from app.engine.building.rollups import forget, needed_now, retired
from app.engine.database import read_catalog, transaction
from app.engine.dataversion import bump
from app.engine.executor import WATCHDOG
from app.engine.warehouse import Buildable, Warehouse, Writer, buildable
from app.errors import BuildError, QueryTimeout, TapflowError


@dataclass
class Progress:
    """One finished batch, for a progress bar: where the run is and what it wrote."""

    table: str
    batch: Batch
    rows: int
    batches_done: int
    batches_total: int
    rows_total: int
    elapsed_s: float

    @property
    def eta_s(self) -> float | None:
        done = self.batches_done
        return None if done == 0 else self.elapsed_s / done * (self.batches_total - done)


@dataclass
class TableReport:
    name: str
    batches: int = 0
    skipped: int = 0
    rows: int = 0
    seconds: float = 0.0
    late: dict[str, Any] | None = None
    tests: list[TestResult] = field(default_factory=list)


@dataclass
class BuildReport:
    run_id: str
    status: str  # success | failed | interrupted
    resumed: bool
    tables: list[TableReport]
    seconds: float
    error: str | None = None

    @property
    def failed_tests(self) -> list[TestResult]:
        return [t for r in self.tables for t in r.tests if t.status != "pass"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "resumed": self.resumed,
            "seconds": round(self.seconds, 3),
            "error": self.error,
            "tables": [
                {
                    "table": t.name,
                    "batches": t.batches,
                    "skipped": t.skipped,
                    "rows": t.rows,
                    "seconds": round(t.seconds, 3),
                    "late_rows": _late(t.late),
                    "tests": [r.as_dict() for r in t.tests],
                }
                for t in self.tables
            ],
        }


def _late(late: dict[str, Any] | None) -> dict[str, Any] | None:
    if late is None:
        return None
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in late.items()}


def run_build(
    con: duckdb.DuckDBPyConnection,
    project: Project,
    plan: BuildPlan,
    *,
    origin: str = "cli",
    on_batch: Callable[[Progress], None] | None = None,
    stop: threading.Event | None = None,
    batch_timeout_s: float | None = None,
    warehouse: Warehouse | None = None,
) -> BuildReport:
    """Run every pending batch of ``plan`` in order; a failing batch is rolled back and ends the run.
    ``con`` is the DuckDB file, which records the run; the tables are built there, or in ``warehouse`` when
    it is another engine (its batches committed there, then recorded here: a batch replaces its rows, so one
    run again after a crash between the two writes the same rows)."""
    started = time.perf_counter()
    target = buildable(warehouse, "A build") if warehouse is not None else None
    try:
        _record_run(con, plan, origin)
    except duckdb.InterruptException:
        if stop is None or not stop.is_set():
            raise
        _record_run(con, plan, origin)  # a cancel landed while the run recorded itself: recorded, it stops below
    total = len(plan.batches)
    done = sum(1 for b in plan.batches if b.done)
    rows_total = 0
    reports: list[TableReport] = []
    status, error = "success", None
    results: list[TestResult] = []
    try:
        catalog = read_catalog(con) if target is None else target.catalog()
        for table in plan.tables:
            report = TableReport(table.name, late=table.late, skipped=sum(1 for b in table.batches if b.done))
            reports.append(report)
            if table.late:
                _record_late(con, plan.run_id, table)
            if table.kind == "rollup":
                _replan_rollup(con, project, plan, table, report)
                total, done = len(plan.batches), sum(1 for b in plan.batches if b.done)
            if any(not b.done for b in table.batches):
                try:
                    prepare(project, table, catalog)
                except duckdb.Error as exc:
                    raise BuildError(f"{table.name}: cannot build: {str(exc).splitlines()[0][:300]}") from exc
            with nullcontext() if target is None else target.writer(table.name) as writer:
                if target is not None and writer is not None and any(not b.done for b in table.batches):
                    _prepare_elsewhere(writer, target, table)
                for batch in table.batches:
                    if batch.done:
                        continue
                    if stop is not None and stop.is_set():
                        raise InterruptedError
                    if writer is None:
                        rows, seconds = _run_batch(con, plan, table, batch, batch_timeout_s)
                    else:
                        rows, seconds = _run_batch_elsewhere(con, writer, plan, table, batch, batch_timeout_s, stop)
                    report.batches += 1
                    report.rows += rows
                    report.seconds += seconds
                    done += 1
                    rows_total += rows
                    if on_batch is not None:
                        elapsed = time.perf_counter() - started
                        on_batch(Progress(table.name, batch, rows, done, total, rows_total, elapsed))
            if table.name not in catalog:  # created by this run: what later tables read must see its columns
                catalog = read_catalog(con) if target is None else target.catalog()
        if target is None:
            _drop_retired(con, project)
        windows = {t.name: (t.batches[0].start, t.batches[-1].end) for t in plan.tables if t.by and t.batches}
        for report in reports:  # once every table is built: a relationship's other side is built too
            report.tests = run_tests(
                con,
                project,
                report.name,
                plan.run_id,
                windows.get(report.name),
                batch_timeout_s,
                record=False,
                warehouse=target,
                columns=catalog.get(report.name),
            )
        checked = metric_tests(
            con,
            project,
            plan.run_id,
            {r.name: windows.get(r.name) for r in reports},
            batch_timeout_s,
            record=False,
            warehouse=target,
        )
        results = [t for r in reports for t in r.tests] + checked
        if checked:
            reports.append(TableReport("metrics", tests=checked))
    except InterruptedError:
        status, error = "interrupted", "stopped before its end; the next run of the same request resumes it"
    except TapflowError as exc:
        cancelled = stop is not None and stop.is_set()
        status, error = ("interrupted", f"cancelled; {exc.detail}") if cancelled else ("failed", exc.detail)
    except Exception as exc:  # recorded as failed (resumable), then raised: never a run left 'running'
        if stop is None or not stop.is_set():
            _finish(con, plan.run_id, "failed", f"{type(exc).__name__}: {str(exc)[:300]}")
            raise
        status, error = "interrupted", f"cancelled ({type(exc).__name__}); the same request resumes it"
    _finish(con, plan.run_id, status, error, results)  # with the tests' results: one commit
    return BuildReport(plan.run_id, status, plan.resumed, reports, time.perf_counter() - started, error)


def _finish(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    status: str,
    error: str | None,
    results: list[TestResult] | None = None,
) -> None:
    with transaction(con) as cur:
        insert_results(cur, run_id, results or [])
        cur.execute(
            "UPDATE meta.builds SET status = ?, finished_at = now(), error = ? WHERE run_id = ?",
            [status, error, run_id],
        )


def _record_run(con: duckdb.DuckDBPyConnection, plan: BuildPlan, origin: str) -> None:
    """The run and its pending batches, before any is built (a resumed run keeps its rows)."""
    with transaction(con) as cur:
        if plan.resumed:
            cur.execute("UPDATE meta.builds SET status = 'running', error = NULL WHERE run_id = ?", [plan.run_id])
        else:
            cur.execute(
                "INSERT INTO meta.builds (run_id, request, request_hash, origin, status, started_at) "
                "VALUES (?, ?, ?, ?, 'running', now())",
                [plan.run_id, json.dumps(plan.request.as_dict()), plan.hash, origin],
            )
        _insert_batches(cur, plan.run_id, [b for b in plan.batches if not b.recorded])


def _insert_batches(cur: duckdb.DuckDBPyConnection, run_id: str, batches: list[Batch]) -> None:
    """Pending rows of ``batches``, in one statement (executemany runs one per row: seconds for a backfill)."""
    cur.execute(
        "INSERT INTO meta.build_runs (run_id, table_name, seq, batch_start, batch_end, status) "
        "SELECT ?, unnest(?), unnest(?), unnest(?::TIMESTAMP[]), unnest(?::TIMESTAMP[]), 'pending'",
        [
            run_id,
            [b.table for b in batches],
            [b.seq for b in batches],
            [b.start for b in batches],
            [b.end for b in batches],
        ],
    )


def _run_batch(
    con: duckdb.DuckDBPyConnection, plan: BuildPlan, table: TablePlan, batch: Batch, timeout_s: float | None
) -> tuple[int, float]:
    bounds = {"start": batch.start, "end": batch.end}
    began = time.perf_counter()
    try:
        with transaction(con) as cur:
            counts = []  # rows replaced (deleted, or closed by a merge), then rows written
            with WATCHDOG.watching(cur, timeout_s) if timeout_s else nullcontext():
                if table.create is not None:
                    _create_missing(cur, table, bounds)
                    table.create = None  # once per run is enough
                whole = table.by is None
                sealed = _checksum(cur, table.name) if whole else None
                for sql, used in table.sql:
                    result = cur.execute(sql, {k: bounds[k] for k in used})
                    counts.append(int((result.fetchone() or (0,))[0]))
            before, after = counts[0], counts[-1]
            changed = bool(before or after) and (not whole or _checksum(cur, table.name) != sealed)
            seconds = time.perf_counter() - began
            cur.execute(
                "UPDATE meta.build_runs SET status = 'success', rows_in = ?, rows_out = ?, seconds = ?, "
                "started_at = now() - to_microseconds(?), finished_at = now(), error = NULL, changed = ? "
                "WHERE run_id = ? AND seq = ?",
                [before, after, seconds, int(seconds * 1e6), changed, plan.run_id, batch.seq],
            )
            if changed:  # an empty batch, or a table rebuilt to the same rows, changed nothing an answer holds
                bump(cur, f"build {table.name} [{batch.start:%Y-%m-%d %H:%M}, {batch.end:%Y-%m-%d %H:%M})")
    except duckdb.Error as exc:
        message = str(exc).split("\n")[0][:500]
        if isinstance(exc, duckdb.InterruptException):
            message = _too_long(timeout_s)
        raise _failed(con, plan, table, batch, message, began) from exc
    return after, seconds


def _run_batch_elsewhere(
    con: duckdb.DuckDBPyConnection,
    writer: Writer,
    plan: BuildPlan,
    table: TablePlan,
    batch: Batch,
    timeout_s: float | None,
    stop: threading.Event | None,
) -> tuple[int, float]:
    """One batch in another warehouse: its statements in one transaction there (cancelled when ``stop`` is
    set), then its record here."""
    bounds = {"start": batch.start, "end": batch.end}
    began = time.perf_counter()
    statements = [(sql, {k: bounds[k] for k in used}) for sql, used in table.sql]
    try:
        counts = writer.run(statements, timeout_s=timeout_s, stop=stop)
    except TapflowError as exc:
        message = exc.detail[:500]
        if isinstance(exc, QueryTimeout):
            message = "it was cancelled" if stop is not None and stop.is_set() else _too_long(timeout_s)
        raise _failed(con, plan, table, batch, message, began) from exc
    before, after = counts[0], counts[-1]
    seconds = time.perf_counter() - began
    with transaction(con) as cur:
        cur.execute(
            "UPDATE meta.build_runs SET status = 'success', rows_in = ?, rows_out = ?, seconds = ?, "
            "started_at = now() - to_microseconds(?), finished_at = now(), error = NULL, changed = ? "
            "WHERE run_id = ? AND seq = ?",
            [before, after, seconds, int(seconds * 1e6), bool(before or after), plan.run_id, batch.seq],
        )
        if before or after:
            bump(cur, f"build {table.name} [{batch.start:%Y-%m-%d %H:%M}, {batch.end:%Y-%m-%d %H:%M})")
    return after, seconds


def _prepare_elsewhere(writer: Writer, warehouse: Buildable, table: TablePlan) -> None:
    """A table the warehouse lacks is created with the shape of the build's rows (the bounds written in: a
    CREATE takes no parameters there); then the statements in its dialect, inserting by column name as DuckDB's
    BY NAME does (a column of the table the rows lack is NULL; a column of the rows the table lacks, an error)."""
    dialect = warehouse.dialect
    try:
        columns = warehouse.catalog().get(table.name)
        if columns is None and table.create is not None:
            schema = exp.Create(this=st.table(table.name.split(".")[0]), kind="SCHEMA", exists=True)
            shape = st.bounded(table.create.copy().limit(0), EPOCH, EPOCH)
            create = exp.Create(this=st.table(table.name), kind="TABLE", expression=shape)
            writer.run([(render(schema, dialect), {}), (render(create, dialect), {})], timeout_s=None)
            columns = warehouse.catalog().get(table.name)
        table.create = None
        if columns is None:
            raise BuildError(f"{table.name}: not in {warehouse.name}, and its build does not say the shape of its rows")
        statements = []
        for statement in table.statements:
            if isinstance(statement, exp.Insert) and isinstance(statement.expression, exp.Query):
                rows = st.bounded(statement.expression, EPOCH, EPOCH)
                shape = exp.select(exp.Star()).from_(exp.Subquery(this=rows, alias=exp.TableAlias(this=st.ident("r"))))
                names = writer.columns(render(shape.limit(0), dialect))
                extra = [n for n in names if n.lower() not in columns]
                if extra:
                    raise BuildError(
                        f"{table.name}: its build's rows have the column(s) {', '.join(extra[:10])}, which the table "
                        f"in {warehouse.name} lacks: add them to the table (ALTER TABLE ... ADD COLUMN), or drop them "
                        "from the build's SQL."
                    )
                statement = st.named(statement, names)
            statements.append((render(statement, dialect), st.parameters(statement)))
    except BuildError:
        raise
    except TapflowError as exc:
        raise BuildError(f"{table.name}: cannot build in {warehouse.name}: {exc.detail}") from exc
    table.sql = statements


def _too_long(timeout_s: float | None) -> str:
    if not timeout_s:
        return "it was cancelled"
    return f"it ran longer than {timeout_s:g} s (TAPFLOW_BUILD_BATCH_TIMEOUT_S), or was cancelled"


def _failed(
    con: duckdb.DuckDBPyConnection, plan: BuildPlan, table: TablePlan, batch: Batch, message: str, began: float
) -> BuildError:
    """Record a batch as failed (its writes were rolled back) and say so."""
    with transaction(con) as cur:
        cur.execute(
            "UPDATE meta.build_runs SET status = 'failed', error = ?, finished_at = now(), "
            "seconds = ? WHERE run_id = ? AND seq = ?",
            [message, time.perf_counter() - began, plan.run_id, batch.seq],
        )
    return BuildError(
        f"{table.name}, batch [{batch.start:%Y-%m-%d %H:%M}, {batch.end:%Y-%m-%d %H:%M}) failed and was rolled "
        f"back: {message}"
    )


def _checksum(cur: duckdb.DuckDBPyConnection, name: str) -> tuple[object, ...] | None:
    """The rows of a table in a few numbers (their count and hashes combined in any order): equal before and
    after a rebuild when it wrote back the same rows."""
    h = exp.func("hash", exp.column("r"))
    query = exp.select(
        exp.Count(this=exp.Star()), exp.func("bit_xor", h), exp.Sum(this=exp.cast(h.copy(), "HUGEINT"))
    ).from_(st.table(name, "r"))
    row = cur.execute(query.sql("duckdb")).fetchone()
    return tuple(row) if row is not None else None


def _create_missing(cur: duckdb.DuckDBPyConnection, table: TablePlan, bounds: dict[str, datetime]) -> None:
    """A table the database does not have yet is created with the shape of the build's rows."""
    schema, name = table.name.split(".")
    exists = cur.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?", [schema, name]
    ).fetchone()
    if exists and exists[0]:
        return
    assert table.create is not None
    cur.execute(exp.Create(this=st.table(schema), kind="SCHEMA", exists=True).sql("duckdb"))
    shape = table.create.copy().limit(0)
    create = exp.Create(this=st.table(table.name), kind="TABLE", expression=shape)
    cur.execute(create.sql("duckdb"), {k: bounds[k] for k in st.parameters(shape)})


def _replan_rollup(
    con: duckdb.DuckDBPyConnection, project: Project, plan: BuildPlan, table: TablePlan, report: TableReport
) -> None:
    """At a rollup's turn, its batches are planned again from what the tables it reads now hold: those rebuilt
    to the same rows changed nothing, so only the periods that did change are rebuilt. The batches planned
    before are skipped, the new ones recorded pending (a killed run resumes them)."""
    pending = [b for b in table.batches if not b.done]
    name = table.key.split(":", 1)[1]
    spans = needed_now(con, project, name, full=plan.request.full_refresh, asked=asked_span(plan.request))
    if spans == [(b.start, b.end) for b in pending]:
        return
    seq = max(b.seq for b in plan.batches) + 1
    fresh = [Batch(seq + i, table.name, a, b, recorded=False) for i, (a, b) in enumerate(spans)]
    with transaction(con) as cur:
        cur.execute(
            "UPDATE meta.build_runs SET status = 'skipped', rows_in = 0, rows_out = 0, finished_at = now() "
            "WHERE run_id = ? AND seq IN (SELECT unnest(?))",
            [plan.run_id, [b.seq for b in pending]],
        )
        _insert_batches(cur, plan.run_id, fresh)
    for b in pending:
        b.done = True
    for b in fresh:
        b.recorded = True
    table.batches += fresh
    report.skipped += len(pending)


def _drop_retired(con: duckdb.DuckDBPyConnection, project: Project) -> None:
    """Drop the rollup tables no definition builds any more (never read again: their names hash their rows)."""
    for name in retired(con, project):
        with transaction(con) as cur:
            forget(cur, name)


def _record_late(con: duckdb.DuckDBPyConnection, run_id: str, table: TablePlan) -> None:
    assert table.late is not None
    late = table.late
    with transaction(con) as cur:
        cur.execute(
            "INSERT INTO meta.late_rows VALUES (?, ?, ?, ?, ?, ?, now())",
            [run_id, table.name, late["source"], late["count"], late["first"], late["last"]],
        )
