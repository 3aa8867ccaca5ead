"""What a build will do: the tables in dependency order, each cut into batches (or resumed from a run a
killed process left unfinished), with the statements each batch runs."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp

from app.compiler.dialects import render
from app.compiler.rollups import rollup_reads
from app.definitions.diagnostics import did_you_mean
from app.definitions.project import BoundTable, Project
from app.definitions.spec import Build
from app.engine.building import rollups
from app.engine.building import statements as st
from app.engine.building.periods import batches, count, floor
from app.engine.warehouse import DuckDBWarehouse, Warehouse
from app.errors import BuildError, InvalidRequest, TapflowError, UnknownTable, Unsupported

EPOCH = datetime(1970, 1, 1)
EARLIEST, LATEST = date(1900, 1, 1), date(9000, 1, 1)  # the days a build request may name
MAX_BATCHES = 100_000  # batches one run may plan (each is a transaction and a row in meta.build_runs)
HISTORY_COLUMNS = ("valid_from", "valid_to", "is_current")
LATE_ROWS_TIMEOUT_S = 300.0  # counting a source's late rows: one aggregate over an indexed or partitioned column


@dataclass(frozen=True)
class BuildRequest:
    """What was asked: tables (none: all), an explicit range, or a full refresh."""

    tables: tuple[str, ...] = ()
    start: date | None = None
    end: date | None = None
    full_refresh: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "tables": list(self.tables),
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "full_refresh": self.full_refresh,
        }

    @property
    def hash(self) -> str:
        return hashlib.sha256(json.dumps(self.as_dict(), sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class Batch:
    seq: int
    table: str
    start: datetime
    end: datetime
    done: bool = False  # finished by an earlier attempt of this run
    recorded: bool = True  # its row is in meta.build_runs (False: planned now, to be recorded)


@dataclass
class TablePlan:
    """One table's batches and the statements each runs (with ``$start``, ``$end`` bound per batch)."""

    name: str
    entity: str
    key: str
    kind: str  # sql | scd2 | snapshot (+ sql) | rollup (key: rollup:<name>)
    by: str | None  # the incremental column; None: each batch replaces the whole table
    batches: list[Batch]
    statements: list[exp.Expr]
    create: exp.Query | None  # the rows' shape, to create a table the database does not have yet
    late: dict[str, Any] | None = None  # late rows found for this table: count, first, last, source
    sql: list[tuple[str, list[str]]] = field(default_factory=list)  # the statements' text and bounds used
    estimate_s: float | None = None


@dataclass
class BuildPlan:
    run_id: str
    request: BuildRequest
    until: datetime
    tables: list[TablePlan] = field(default_factory=list)
    resumed: bool = False
    where: str = ""  # the warehouse built in, when not the DuckDB file (its name, without secrets)

    @property
    def hash(self) -> str:
        """The request's, and the warehouse's: a run in another warehouse is never resumed in this one."""
        return request_hash(self.request, self.where)

    @property
    def batches(self) -> list[Batch]:
        return [b for t in self.tables for b in t.batches]


def plan_build(
    con: duckdb.DuckDBPyConnection,
    project: Project,
    request: BuildRequest,
    until: datetime,
    *,
    resume: bool = True,
    warehouse: Warehouse | None = None,
) -> BuildPlan:
    """The batches of ``request``: resumed from its last unfinished run when there is one. ``con`` holds the
    records of past runs; the tables are in ``warehouse`` when it is another engine (rollups are built in the
    DuckDB file only, so none is planned there)."""
    source = warehouse if warehouse is not None else DuckDBWarehouse(con)
    where = "" if isinstance(source, DuckDBWarehouse) else source.name
    order = project.builds.order() if project.builds is not None else []
    bound = {t.name.lower(): t for t in project.tables.values() if t.spec.build is not None}
    _check_range(request)
    wanted = [n.lower() for n in request.tables]
    rollups = {r.name: r for r in project.rollups.values()} | {r.physical: r for r in project.rollups.values()}
    for name in wanted:
        if name not in bound and name not in rollups:
            raise UnknownTable(f"No build for '{name[:100]}'. {did_you_mean(name, [*order, *project.rollups])}")
        if name not in bound and where:
            raise Unsupported(
                f"'{name[:100]}' is a pre-aggregation: rollups are built in the DuckDB file only, and queries on "
                f"{where} read the base tables. Build the entity tables here, or unset TAPFLOW_WAREHOUSE."
            )
    names = [n for n in order if not wanted or n in wanted]
    previous = _unfinished(con, request_hash(request, where)) if resume else None
    plan = BuildPlan(previous or uuid.uuid4().hex[:12], request, until, resumed=previous is not None, where=where)
    present = source.catalog()
    done = _batches_of(con, previous) if previous else {}
    seq = max(done, default=-1) + 1

    def add(table: TablePlan) -> None:
        nonlocal seq
        resumed = [b for b in done.values() if b.table == table.name]
        if resumed:  # the interrupted run's batches; a table it did not have is planned afresh
            table.batches = resumed
        else:
            for b in table.batches:
                b.seq, b.recorded = seq, False
                seq += 1
        table.estimate_s = _estimate(con, table)
        if table.batches:
            plan.tables.append(table)

    for name in names:
        add(_table_plan(con, source, bound[name], request, until, name in present))
    if isinstance(source, DuckDBWarehouse):
        for table in _rollup_plans(con, project, request, plan.tables, wanted):  # after what they read
            add(table)
    if sum(len(t.batches) for t in plan.tables) > MAX_BATCHES:
        raise InvalidRequest(
            f"This build would run {sum(len(t.batches) for t in plan.tables):,} batches, more than {MAX_BATCHES:,}; "
            "build a shorter range (--start, --end) or fewer tables at a time."
        )
    return plan


def _rollup_plans(
    con: duckdb.DuckDBPyConnection, project: Project, request: BuildRequest, tables: list[TablePlan], wanted: list[str]
) -> list[TablePlan]:
    """After the tables: each rollup's batches that make it current once theirs have landed (a rollup reading
    none of the tables asked for, and not asked for itself, waits for a build that does)."""
    if not project.rollups:
        return []
    pending = {t.name: [(b.start, b.end) for b in t.batches if not b.done] for t in tables}
    known = rollups.coverage(con, project)
    asked = asked_span(request)
    out = []
    for r in sorted(project.rollups.values(), key=lambda r: r.name):
        reads = rollup_reads(project, r)
        if wanted and r.name not in wanted and r.physical not in wanted and not reads & set(wanted):
            continue
        spans = rollups.needed(r, known[r.name], pending, reads, full=request.full_refresh, asked=asked)
        plan = TablePlan(r.physical, r.table.entity, f"rollup:{r.name}", "rollup", "period", [], [], None)
        plan.batches = [Batch(0, r.physical, a, b) for a, b in spans]
        out.append(plan)
    return out


def asked_span(request: BuildRequest) -> tuple[datetime, datetime] | None:
    """The range a request names (open ends reach the earliest and latest days), or None."""
    if not (request.start or request.end):
        return None
    return (
        datetime.combine(request.start or EARLIEST, datetime.min.time()),
        datetime.combine(request.end or LATEST, datetime.min.time()),
    )


def _check_range(request: BuildRequest) -> None:
    for day in (request.start, request.end):
        if day is not None and not EARLIEST <= day < LATEST:
            raise InvalidRequest(f"Build from and to days between {EARLIEST} and {LATEST}, not {day}.")
    if request.start and request.end and request.start >= request.end:
        raise InvalidRequest(f"start ({request.start}) must be before end ({request.end}, exclusive).")


def request_hash(request: BuildRequest, where: str) -> str:
    """What ``meta.builds.request_hash`` holds: the request's hash, with the warehouse's name when not the file."""
    return request.hash if not where else hashlib.sha256(f"{request.hash} {where}".encode()).hexdigest()[:16]


def _unfinished(con: duckdb.DuckDBPyConnection, hashed: str) -> str | None:
    row = con.execute(
        "SELECT run_id, status FROM meta.builds WHERE request_hash = ? ORDER BY started_at DESC LIMIT 1",
        [hashed],
    ).fetchone()
    return str(row[0]) if row is not None and row[1] in ("running", "interrupted", "failed") else None


def _batches_of(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[int, Batch]:
    rows = con.execute(
        "SELECT seq, table_name, batch_start, batch_end, status FROM meta.build_runs WHERE run_id = ? ORDER BY seq",
        [run_id],
    ).fetchall()
    return {seq: Batch(seq, t, s, e, done=status in ("success", "skipped")) for seq, t, s, e, status in rows}


def _table_plan(
    con: duckdb.DuckDBPyConnection,
    source: Warehouse,
    bound: BoundTable,
    request: BuildRequest,
    until: datetime,
    present: bool,
) -> TablePlan:
    """``present``: the warehouse has the table; one it lacks (dropped, or another warehouse's records) is built
    from its first day whatever the records of past runs say."""
    build = bound.spec.build
    assert build is not None
    name = bound.name.lower()
    inc = build.incremental
    first = datetime.combine(build.start, datetime.min.time()) if build.start else EPOCH
    kind = "scd2" if build.scd2 else "snapshot" if build.snapshot else "sql"
    plan = TablePlan(name, bound.entity, bound.key, kind, inc.by if inc else None, [], [], None)
    if build.scd2 is not None and build.scd2.updated_at is None:  # successive states: merged at `until`
        plan.batches = [Batch(0, name, until, until)]
        return plan
    if inc is None:
        plan.batches = [Batch(0, name, first, until)]
        return plan
    start, end = first, until
    if request.start or request.end:
        start = datetime.combine(request.start, datetime.min.time()) if request.start else first
        end = datetime.combine(request.end, datetime.min.time()) if request.end else until
    elif not request.full_refresh and present:
        mark = watermark(con, name)
        if mark is not None:
            start = max(first, floor(min(mark, until) - timedelta(days=inc.lookback_days), inc.batch))
            plan.late = _late_rows(con, source, name, inc.late.model_dump() if inc.late else None, start)
    grain = inc.backfill or inc.batch
    if count(floor(start, inc.batch), end, grain) > MAX_BATCHES:
        raise InvalidRequest(
            f"{name}: {count(floor(start, inc.batch), end, grain):,} {grain} batches from {start:%Y-%m-%d} to "
            f"{end:%Y-%m-%d}, more than {MAX_BATCHES:,}; build a shorter range (--start, --end)."
        )
    plan.batches = [Batch(0, name, a, b) for a, b in batches(floor(start, inc.batch), end, grain)]
    return plan


def prepare(project: Project, table: TablePlan, catalog: dict[str, dict[str, str]]) -> None:
    """Set the statements of ``table``'s batches, from the catalog as it is now (after the tables it reads)."""
    if table.kind == "rollup":
        table.statements, table.create = rollups.statements(project, project.rollups[table.key.split(":", 1)[1]])
        table.sql = [(s.sql("duckdb"), st.parameters(s)) for s in table.statements]
        return
    bound = project.tables[(table.entity, table.key)]
    build = bound.spec.build
    assert build is not None
    if build.scd2 is not None and build.scd2.updated_at is None:
        table.statements, table.create = _merge(project, bound, build, catalog)
        table.sql = [(s.sql("duckdb"), st.parameters(s)) for s in table.statements]
        return
    rows = _rows(project, bound, build, catalog)
    table.create = rows
    if table.by is None:
        table.statements = [st.delete(table.name, None), st.insert(table.name, rows)]
    else:
        kind = catalog.get(table.name, {}).get(table.by.lower(), "TIMESTAMP")
        table.statements = [
            st.delete(table.name, table.by, kind),
            st.insert(table.name, st.within(rows, table.by, kind)),
        ]
    table.sql = [(s.sql("duckdb"), st.parameters(s)) for s in table.statements]


def _rows(project: Project, bound: BoundTable, build: Build, catalog: dict[str, dict[str, str]]) -> exp.Query:
    """The SELECT of one batch's rows, whatever the kind."""
    own = sqlglot.parse_one(build.sql, dialect="duckdb") if build.sql else None
    assert own is None or isinstance(own, exp.Query)
    if build.scd2 is not None:
        source = _resolve(project, bound, build.scd2.from_)
        key, t = build.scd2.unique_key, build.scd2.updated_at
        assert t is not None
        keep = _kept(catalog, source, bound.name, {key.lower(), t.lower()})
        valid_from, valid_to = bound.spec.timestamp or "valid_from", bound.spec.valid_to or "valid_to"
        current = "is_current" if _has(catalog, bound.name, "is_current") else None
        return st.scd2_rows(source, key, t, keep, valid_from, valid_to, current)
    if build.snapshot is not None:
        history = _resolve(project, bound, build.snapshot.from_)
        spec = next((t.spec for t in project.tables.values() if t.name.lower() == history), None)
        vf = (spec.timestamp if spec else None) or "valid_from"
        vt = (spec.valid_to if spec else None) or "valid_to"
        columns = [c for c in catalog.get(history, {}) if c not in {vf.lower(), vt.lower(), "is_current"}]
        if not columns:
            raise BuildError(f"{bound.name}: its history {history} has no columns yet; build it first")
        label = bound.spec.timestamp or "snapshot_date"
        rows = st.snapshot_rows(history, label, build.snapshot.grain, columns, vf, vt)
        return st.with_snapshot(rows, own) if own is not None else rows
    assert own is not None
    return own


def _merge(
    project: Project, bound: BoundTable, build: Build, catalog: dict[str, dict[str, str]]
) -> tuple[list[exp.Expr], exp.Query]:
    """The statements of a history from successive states, and the shape of its rows."""
    assert build.scd2 is not None and build.scd2.check_columns
    source = _resolve(project, bound, build.scd2.from_)
    key = build.scd2.unique_key
    keep = _kept(catalog, source, bound.name, {key.lower()})
    valid_from, valid_to = bound.spec.timestamp or "valid_from", bound.spec.valid_to or "valid_to"
    current = "is_current" if _has(catalog, bound.name, "is_current") else None
    merge = st.scd2_merge(source, bound.name, key, build.scd2.check_columns, keep, valid_from, valid_to, current)
    typed = [exp.cast(exp.null(), "TIMESTAMP").as_(valid_from), exp.cast(exp.null(), "TIMESTAMP").as_(valid_to)]
    if current:
        typed.append(exp.cast(exp.null(), "BOOLEAN").as_(current))
    shape = exp.select(st.col(key), *(st.col(c) for c in keep), *typed).from_(st.table(source))
    return merge, shape


def _resolve(project: Project, bound: BoundTable, origin: str) -> str:
    own = project.tables.get((bound.entity, origin))
    return (own.name if own is not None else origin).lower()


def _kept(catalog: dict[str, dict[str, str]], source: str, target: str, skip: set[str]) -> list[str]:
    """The source's columns a history keeps: all but the key and time, and those the table has (when it exists)."""
    cols = [c for c in catalog.get(source, {}) if c not in skip and c not in HISTORY_COLUMNS]
    have = catalog.get(target.lower())
    return [c for c in cols if have is None or c in have]


def _has(catalog: dict[str, dict[str, str]], table: str, column: str) -> bool:
    return column in catalog.get(table.lower(), {column: ""})


def watermark(con: duckdb.DuckDBPyConnection, table: str) -> datetime | None:
    """The end of the newest batch built (the last run's reach)."""
    row = con.execute(
        "SELECT max(batch_end) FROM meta.build_runs WHERE table_name = ? AND status = 'success'", [table]
    ).fetchone()
    return None if row is None or row[0] is None else row[0]


def _late_rows(
    con: duckdb.DuckDBPyConnection, source: Warehouse, table: str, late: dict[str, str] | None, window: datetime
) -> dict[str, Any] | None:
    """Rows of the source that arrived since the last run began but belong before this run's window."""
    if late is None:
        return None
    row = con.execute(
        "SELECT min(started_at) FROM meta.build_runs WHERE table_name = ? AND run_id = ("
        " SELECT run_id FROM meta.build_runs WHERE table_name = ? AND status = 'success'"
        " ORDER BY finished_at DESC LIMIT 1)",
        [table, table],
    ).fetchone()
    if row is None or row[0] is None:
        return None
    t, loaded = st.col(late["time"]), st.col(late["loaded_at"])
    q = (
        exp.select(exp.func("count", exp.Star()), exp.func("min", t), exp.func("max", t))
        .from_(st.table(late["table"]))
        .where(exp.and_(loaded >= exp.Placeholder(this="since"), t < exp.Placeholder(this="window")))
    )
    try:
        found = source.select(
            render(q, source.dialect), timeout_s=LATE_ROWS_TIMEOUT_S, params={"since": row[0], "window": window}
        )
    except TapflowError as exc:
        raise BuildError(f"{table}: counting late rows in {late['table']} failed: {exc.detail}") from exc
    late_count, first, last = found.rows[0] if found.rows else (0, None, None)
    if not late_count:
        return None
    return {"source": late["table"], "count": int(late_count), "first": first, "last": last}


def _estimate(con: duckdb.DuckDBPyConnection, table: TablePlan) -> float | None:
    """Seconds the pending batches should take, from the median batch of past runs."""
    row = con.execute(
        "SELECT median(seconds) FROM meta.build_runs WHERE table_name = ? AND status = 'success'", [table.name]
    ).fetchone()
    if row is None or row[0] is None:
        return None
    return float(row[0]) * sum(1 for b in table.batches if not b.done)
