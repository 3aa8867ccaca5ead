"""Rollups in the builds (DESIGN 13): what each is current over, the batches that bring it up to date, and
its statements.

A rollup is current over a span when its batch there finished after every change the builds made there to
the tables it reads (its metrics' table and the joined ones): ``coverage`` replays ``meta.build_runs`` in the
order batches finished. A build plans, after the tables it rebuilds, the batches of each rollup that is not
current over its table's span once this run's batches land; so a rollup is refreshed when its base changes,
and until it is, the queries of a span it is not current over read the base table.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
from sqlglot import exp

from app.compiler.matching import Coverage, Span, add_span, remove_span
from app.compiler.rollups import rollup_reads, rollup_rows
from app.definitions.project import Project, Rollup
from app.definitions.rollups import SCHEMA
from app.engine.building import statements as st
from app.engine.building.periods import batches, ceil, floor

EVERYTHING: Span = (datetime.min, datetime.max)
BATCH = {"hour": "day", "day": "day", "week": "week", "month": "month"}  # a rollup's batches: whole periods
BACKFILL = {"day": "month", "week": "week", "month": "month"}  # the cuts of a longer span
WEEKS_PER_BATCH = 5  # a backfill of a weekly rollup: about a month a transaction
BLOCK_BYTES = 262_144


def coverage(con: duckdb.DuckDBPyConnection, project: Project, *, sizes: bool = False) -> dict[str, Coverage]:
    """What each rollup is current over now, the span its table's builds cover, its rows, and (``sizes``) the
    bytes it takes on disk."""
    if not project.rollups:
        return {}
    reads = {r.name: rollup_reads(project, r) for r in project.rollups.values()}
    names = sorted({r.physical for r in project.rollups.values()} | {t for rs in reads.values() for t in rs})
    history = con.execute(
        "SELECT lower(table_name), batch_start, batch_end, finished_at, "
        "coalesce(changed, coalesce(rows_in, 0) + coalesce(rows_out, 0) > 0) FROM meta.build_runs "
        "WHERE status = 'success' AND lower(table_name) IN (SELECT unnest(?))",
        [names],
    ).fetchall()
    by_table: dict[str, list[tuple[datetime, datetime, datetime, bool]]] = {}
    for table, start, end, finished, changed in history:
        by_table.setdefault(table, []).append((start, end, finished, changed))
    rows = dict(
        con.execute(
            "SELECT schema_name || '.' || table_name, estimated_size FROM duckdb_tables() WHERE schema_name = ?",
            [SCHEMA],
        ).fetchall()
    )
    out = {}
    for r in project.rollups.values():
        own = by_table.get(r.physical, []) if r.physical in rows else []  # a table dropped since holds nothing
        changes = [(s, e, f) for t in reads[r.name] for s, e, f, n in by_table.get(t, []) if n]
        base = by_table.get(r.table.name.lower(), [])
        extent = (min(s for s, _, _, _ in base), max(e for _, e, _, _ in base)) if base else None
        refreshed = max((f for _, _, f, _ in own), default=None)
        current = tuple(_current([(s, e, f) for s, e, f, _ in own], changes))
        size = _bytes(con, r) if sizes and r.physical in rows else None
        complete = extent is None or _inside(con, project, r, extent)
        out[r.name] = Coverage(current, extent, rows.get(r.physical), size, refreshed, complete)
    return out


def _inside(con: duckdb.DuckDBPyConnection, project: Project, r: Rollup, extent: Span) -> bool:
    """Whether every row of the rollup's table has a time inside what its builds cover (a row without one, or
    outside, is in no batch: a rollup answers only ranges inside its coverage then)."""
    ts = exp.column(str(project.metric(r.metrics[0]).spec.timestamp), quoted=True)
    outside = exp.or_(ts.is_(exp.null()), ts < exp.cast(exp.Placeholder(this="lo"), "TIMESTAMP"))
    outside = exp.or_(outside, ts.copy() >= exp.cast(exp.Placeholder(this="hi"), "TIMESTAMP"))
    query = exp.select("1").from_(st.table(r.table.name)).where(outside).limit(1)
    return con.execute(query.sql("duckdb"), {"lo": extent[0], "hi": extent[1]}).fetchone() is None


def _current(
    own: list[tuple[datetime, datetime, datetime]], changes: list[tuple[datetime, datetime, datetime]]
) -> list[Span]:
    """Replay the rollup's batches (each makes its span current) and its tables' changes (each makes its span
    stale) in the order they finished; a change at the same instant as a batch counts as after it."""
    events = sorted([(f, 0, s, e) for s, e, f in own] + [(f, 1, s, e) for s, e, f in changes])
    spans: list[Span] = []
    for _, kind, s, e in events:
        spans = add_span(spans, (s, e)) if kind == 0 else remove_span(spans, _changed(s, e))
    return spans


def _changed(start: datetime, end: datetime) -> Span:
    """The span a batch of a table changed: its range, or everything (a merge at one instant restates history)."""
    return (start, end) if end > start else EVERYTHING


def _bytes(con: duckdb.DuckDBPyConnection, r: Rollup) -> int | None:
    """The blocks a rollup's table takes in the file, in bytes."""
    blocks = con.execute(
        "SELECT count(DISTINCT block_id) FROM pragma_storage_info(?) WHERE block_id >= 0", [r.physical]
    ).fetchone()
    return int(blocks[0]) * BLOCK_BYTES if blocks else None


def needed(
    r: Rollup,
    cov: Coverage,
    pending: dict[str, list[Span]],
    reads: frozenset[str],
    *,
    full: bool = False,
    asked: Span | None = None,
) -> list[Span]:
    """The batches (whole periods of the rollup's grain) that make ``r`` current over its table's span once
    the ``pending`` batches of this run (by table) have landed; ``full``: all of it; ``asked``: that span too."""
    base = pending.get(r.table.name.lower(), [])
    spans = [*([cov.extent] if cov.extent else []), *base]
    if not spans:
        return []  # its table was never built: nothing to roll up
    extent = (min(s for s, _ in spans), max(e for _, e in spans))
    current = [] if full else list(cov.current)
    for table in reads:
        for s, e in pending.get(table, []):
            current = remove_span(current, _changed(s, e))
    todo = [extent]
    for span in current:
        todo = remove_span(todo, span)
    if asked is not None:
        lo, hi = max(asked[0], extent[0]), min(asked[1], extent[1])
        if lo < hi:
            todo = add_span(todo, (lo, hi))
    grain = BATCH[r.grain]
    out: list[Span] = []
    for s, e in todo:
        cut = batches(floor(s, grain), ceil(e, grain), BACKFILL[grain])
        if grain == "week":
            cut = [
                (cut[i][0], cut[min(i + WEEKS_PER_BATCH, len(cut)) - 1][1]) for i in range(0, len(cut), WEEKS_PER_BATCH)
            ]
        out += cut
    return out


def needed_now(
    con: duckdb.DuckDBPyConnection, project: Project, name: str, *, full: bool, asked: Span | None
) -> list[Span]:
    """The batches rollup ``name`` needs now that the tables it reads were built (a table rebuilt to the same
    rows changed nothing): at its turn in a run, these replace what was planned before they ran."""
    r = project.rollups[name]
    return needed(r, coverage(con, project)[name], {}, rollup_reads(project, r), full=full, asked=asked)


def statements(project: Project, r: Rollup) -> tuple[list[exp.Expr], exp.Query]:
    """Delete the batch's periods, insert its rows; and the rows' shape (to create the table)."""
    rows = rollup_rows(project, r)
    kind = "TIMESTAMP" if r.grain == "hour" else "DATE"
    return [st.delete(r.physical, "period", kind), st.insert(r.physical, rows)], rows


def forget(cur: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop a rollup table and mark its batches dropped: a definition reverted to it later builds it afresh."""
    cur.execute(exp.Drop(tables=[st.table(name)], kind="TABLE", exists=True).sql("duckdb"))
    cur.execute(
        "UPDATE meta.build_runs SET status = 'dropped' WHERE lower(table_name) = ? AND status = 'success'", [name]
    )


def retired(con: duckdb.DuckDBPyConnection, project: Project) -> list[str]:
    """Tables of the rollup schema no rollup of the definitions builds (a definition changed or was removed)."""
    kept = {r.physical.split(".")[1] for r in project.rollups.values()}
    found = con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = ?", [SCHEMA]).fetchall()
    return [f"{SCHEMA}.{name}" for (name,) in found if name not in kept]
