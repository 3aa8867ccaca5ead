"""The morning check (DESIGN 11): last build of every table against its trailing median, failed tests,
stale tables, late rows beyond the lookback, and grain coverage (first, last and missing periods)."""

from __future__ import annotations

import json
from contextlib import nullcontext
from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb
from sqlglot import exp

from app.compiler.build import date_trunc
from app.compiler.dialects import render
from app.definitions.project import BoundTable, Project
from app.engine.building.periods import count, floor, step
from app.engine.building.statements import col, query, table
from app.engine.executor import WATCHDOG
from app.engine.warehouse import Warehouse
from app.errors import BuildError, QueryTimeout, TapflowError

DATA_TIMEOUT_S = 300.0  # a query of the check on another warehouse, without a limit given
SLOW = 2.0  # a build over this multiple of its trailing median is flagged
SLOW_FLOOR_S = 1.0  # ... when that median is a second or more (0.0 s against 0.01 s is noise)
TRAILING = 10  # runs the median is taken over
GRAINS = ("hour", "day", "month")
MAX_SPAN = 100_000  # periods of a grain table whose gaps are listed (beyond, only counted)


def morning_check(
    con: duckdb.DuckDBPyConnection,
    project: Project,
    now: datetime,
    *,
    coverage: bool = True,
    only: set[str] | None = None,
    timeout_s: float | None = None,
    warehouse: Warehouse | None = None,
    freshness: bool = True,
) -> dict[str, Any]:
    """Everything the 8 AM review looks at, one dict (``tapflow status`` and GET /status); without
    ``coverage`` (which reads whole tables) it is what a metric answer's ``meta.data_status`` needs; ``only``
    keeps the tables named. Past ``timeout_s`` it stops (BuildError). The records are ``con``'s; the tables
    are in ``warehouse`` when it is another engine than the DuckDB file. Without ``freshness``, no table is read
    (a query per table: seconds on a large warehouse)."""
    cur = con.cursor()
    data = _Data(cur, warehouse, timeout_s, freshness)
    try:
        with WATCHDOG.watching(cur, timeout_s) if timeout_s else nullcontext():
            return _check(cur, data, project, now, coverage, only)
    except (duckdb.InterruptException, QueryTimeout):
        raise BuildError(f"The status check ran longer than {timeout_s} s and was stopped") from None
    finally:
        cur.close()


class _Data:
    """Where the check reads the tables themselves: the DuckDB cursor, or another warehouse."""

    def __init__(
        self, cur: duckdb.DuckDBPyConnection, warehouse: Warehouse | None, timeout_s: float | None, fresh: bool
    ):
        self.cur, self.warehouse, self.timeout_s, self.fresh = cur, warehouse, timeout_s, fresh

    def row(self, tree: exp.Query) -> tuple[Any, ...] | None:
        if self.warehouse is None:
            return self.cur.execute(tree.sql("duckdb")).fetchone()
        text = render(tree, self.warehouse.dialect)
        rows = self.warehouse.select(text, timeout_s=self.timeout_s or DATA_TIMEOUT_S, params={}).rows
        return tuple(rows[0]) if rows else None


def _check(
    cur: duckdb.DuckDBPyConnection, data: _Data, project: Project, now: datetime, coverage: bool, only: set[str] | None
) -> dict[str, Any]:
    builds = _last_builds(cur)
    tests = failed_tests(cur)
    late = _late(cur)
    tables = []
    for bound in sorted(project.tables.values(), key=lambda t: t.name):
        if (bound.spec.build is None and not bound.spec.freshness) or (only and bound.name.lower() not in only):
            continue
        try:
            tables.append(_table(data, project, bound, now, builds.get(bound.name.lower()), tests, late, coverage))
        except (duckdb.InterruptException, QueryTimeout):
            raise
        except (duckdb.Error, TapflowError, ValueError, TypeError, OverflowError) as exc:  # said, not fatal
            why = exc.detail if isinstance(exc, TapflowError) else str(exc)
            note = f"status not computed: {type(exc).__name__}: {why.splitlines()[0][:200]}"
            empty: dict[str, Any] = {
                "last_build": None,
                "failed_tests": [],
                "late_rows": [],
                "freshness": None,
                "coverage": None,
            }
            tables.append(
                {"table": bound.name.lower(), "entity": bound.entity, "key": bound.key, **empty}
                | {"status": "warn", "notes": [note]}
            )
    problems = [t for t in tables if t["status"] != "ok"]
    return {
        "checked_at": now.isoformat(),
        "status": "ok" if not problems else ("error" if any(t["status"] == "error" for t in problems) else "warn"),
        "tables": tables,
        "failed_tests": [t for ts in tests.values() for t in ts],
        "late_rows": [x for xs in late.values() for x in xs],
    }


def _table(
    data: _Data,
    project: Project,
    bound: BoundTable,
    now: datetime,
    build: dict[str, Any] | None,
    tests: dict[str, list[dict[str, Any]]],
    late: dict[str, list[dict[str, Any]]],
    coverage: bool,
) -> dict[str, Any]:
    name = bound.name.lower()
    out: dict[str, Any] = {"table": name, "entity": bound.entity, "key": bound.key, "last_build": build}
    out["failed_tests"] = tests.get(name, [])
    out["late_rows"] = late.get(name, [])
    out["freshness"] = _freshness(data, project, bound, now) if data.fresh else None
    out["coverage"] = _coverage(data, bound) if coverage else None
    flags = []
    if build and build["status"] != "success":
        flags.append(("error", f"last build {build['status']}"))
    if build and build.get("slow"):
        flags.append(("warn", f"last build took {build['seconds']:.1f}s, over {SLOW:g}x its median"))
    if out["failed_tests"]:
        flags.append(("error", f"{len(out['failed_tests'])} failing test(s)"))
    if out["late_rows"]:
        flags.append(("warn", "late rows beyond the lookback"))
    fresh = out["freshness"]
    if fresh and fresh["status"] != "ok":
        age = (
            "no rows"
            if fresh["newest"] is None
            else "not a time"
            if fresh["age_hours"] is None
            else (f"newest row {fresh['age_hours']:.0f}h old")
        )
        flags.append((fresh["status"], f"stale: {age}"))
    cov = out["coverage"]
    if cov and cov["missing"]:
        flags.append(("warn", f"{cov['missing']} {cov['grain']}(s) without rows"))
    out["status"] = "error" if any(f[0] == "error" for f in flags) else "warn" if flags else "ok"
    out["notes"] = [f[1] for f in flags]
    return out


def _last_builds(cur: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    """Per table: its last run (duration = its batches' seconds) against the median of the runs before."""
    rows = cur.execute(
        """
        SELECT table_name, run_id, max(finished_at) AS finished, sum(seconds) AS seconds, sum(rows_out) AS rows,
               bool_and(status IN ('success', 'skipped')) AS ok, count(*) AS batches
        FROM meta.build_runs WHERE status <> 'pending' OR finished_at IS NOT NULL
        GROUP BY table_name, run_id
        ORDER BY table_name, finished
        """
    ).fetchall()
    runs: dict[str, list[tuple[Any, ...]]] = {}
    for row in rows:
        runs.setdefault(row[0], []).append(row)
    out = {}
    for name, history in runs.items():
        _, run_id, finished, seconds, n_rows, ok, batches = history[-1]
        before = sorted(float(r[3] or 0) for r in history[-1 - TRAILING : -1])
        median = before[len(before) // 2] if before else None
        out[name] = {
            "run_id": run_id,
            "finished_at": finished.isoformat() if finished else None,
            "status": "success" if ok else "failed",
            "batches": int(batches),
            "rows": int(n_rows or 0),
            "seconds": round(float(seconds or 0), 3),
            "median_seconds": None if median is None else round(median, 3),
            "slow": median is not None and median >= SLOW_FLOOR_S and float(seconds or 0) > SLOW * median,
        }
    return out


def failed_tests(cur: duckdb.DuckDBPyConnection) -> dict[str, list[dict[str, Any]]]:
    """The latest result of every (table, test) that did not pass."""
    out: dict[str, list[dict[str, Any]]] = {}
    for result in latest_tests(cur):
        if result["status"] != "pass":
            out.setdefault(result["table"], []).append(result)
    return out


def latest_tests(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """The latest result of every (table, test), by table and test."""
    rows = cur.execute(
        """
        SELECT table_name, test, status, failing, sample, detail, checked_at FROM meta.test_results
        QUALIFY row_number() OVER (PARTITION BY table_name, test ORDER BY checked_at DESC, run_id DESC) = 1
        ORDER BY table_name, test
        """
    ).fetchall()
    return [
        {
            "table": name,
            "test": test,
            "status": status,
            "failing": int(failing),
            "sample": json.loads(sample) if sample else [],
            "detail": detail,
            "checked_at": checked.isoformat(),
        }
        for name, test, status, failing, sample, detail, checked in rows
    ]


def _late(cur: duckdb.DuckDBPyConnection) -> dict[str, list[dict[str, Any]]]:
    """Late rows no successful batch has covered since they were found."""
    rows = cur.execute(
        """
        SELECT l.table_name, l.source, l.late_count, l.first_time, l.last_time, l.detected_at
        FROM meta.late_rows l
        WHERE NOT EXISTS (
            SELECT 1 FROM meta.build_runs b
            WHERE b.table_name = l.table_name AND b.status = 'success' AND b.finished_at >= l.detected_at
              AND b.batch_start <= l.first_time AND b.batch_end > l.last_time)
        ORDER BY l.detected_at
        """
    ).fetchall()
    out: dict[str, list[dict[str, Any]]] = {}
    for name, source, late_count, first, last, detected in rows:
        end = step(floor(last, "day"), "day")
        out.setdefault(name, []).append(
            {
                "table": name,
                "source": source,
                "count": int(late_count),
                "first": first.isoformat(),
                "last": last.isoformat(),
                "detected_at": detected.isoformat(),
                "rebuild": f"tapflow build {name} --start {first:%Y-%m-%d} --end {end:%Y-%m-%d}",
            }
        )
    return out


def _freshness(data: _Data, project: Project, bound: BoundTable, now: datetime) -> dict[str, Any] | None:
    """The newest row's age against ``freshness`` (or the tightest ``meta.sla_hours`` of a metric over it)."""
    ts = bound.spec.timestamp
    warn = bound.spec.freshness.warn_after if bound.spec.freshness else None
    error = bound.spec.freshness.error_after if bound.spec.freshness else None
    slas = [m.spec.meta.sla_hours for m in project.metrics.values() if m.table is bound and m.spec.meta.sla_hours]
    if slas and error is None:
        error = timedelta(hours=min(slas))
    if ts is None or (warn is None and error is None) or not bound.has(ts):
        return None
    try:
        newest = data.row(exp.select(exp.func("max", col(ts))).from_(table(bound.name)))
    except QueryTimeout:
        raise
    except (duckdb.Error, TapflowError):
        return None
    value = newest[0] if newest else None
    if value is None:
        return {"newest": None, "age_hours": None, "status": "error"}
    if isinstance(value, datetime):
        at = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    elif isinstance(value, date):
        at = datetime.combine(value, datetime.max.time())  # a day's rows are fresh until the day ends
    else:  # a timestamp column of another type (text, time): freshness cannot be told
        return {"newest": str(value)[:40], "age_hours": None, "status": "warn"}
    age = now - at
    status = "error" if error is not None and age > error else "warn" if warn is not None and age > warn else "ok"
    return {"newest": str(value), "age_hours": round(age.total_seconds() / 3600, 1), "status": status}


def _coverage(data: _Data, bound: BoundTable) -> dict[str, Any] | None:
    """First and last period of a grain table and how many periods inside have no row (up to 5 named, in the
    DuckDB file; the gaps are listed only for a span of at most MAX_SPAN periods)."""
    grain, ts = bound.finest_grain, bound.spec.timestamp
    if grain not in GRAINS or ts is None or bound.key == "history" or not bound.has(ts):
        return None
    step_ = exp.Interval(this=exp.Literal.string("1"), unit=exp.var(grain.upper()))
    span = query(
        "SELECT min(p), max(p), count(*) FROM (SELECT DISTINCT CAST(__period__ AS TIMESTAMP) AS p "
        "FROM __t__ WHERE __ts__ IS NOT NULL) AS s",
        ts=ts,
        t=bound.name,
        period=date_trunc(col(ts), grain),
    )
    first, last, present = data.row(span) or (None, None, 0)
    out: dict[str, Any] = {"grain": grain, "first": None if first is None else str(first), "last": None, "missing": 0}
    out["missing_sample"] = []
    if first is None:
        return out
    out["last"] = str(last)
    expected = count(first, step(last, grain), grain)
    out["missing"] = max(0, expected - int(present))
    if out["missing"] and expected <= MAX_SPAN and data.warehouse is None:
        gaps = query(
            "SELECT list(g.r ORDER BY g.r)[1:5] FROM range(CAST(__first__ AS TIMESTAMP), "
            "CAST(__last__ AS TIMESTAMP) + __step__, __step__) AS g(r) WHERE g.r NOT IN "
            "(SELECT DISTINCT CAST(time_bucket(__step__, __ts__) AS TIMESTAMP) FROM __t__ WHERE __ts__ IS NOT NULL)",
            first=exp.Literal.string(str(first)),
            last=exp.Literal.string(str(last)),
            step=step_,
            ts=ts,
            t=bound.name,
        )
        sample = (data.row(gaps) or ([],))[0]
        out["missing_sample"] = [str(x) for x in sample or []]
    return out


def recorded_run(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, Any] | None:
    """A build as ``meta`` recorded it: the run, each table's batches, rows and seconds, tests, late rows."""
    run = con.execute(
        "SELECT run_id, request, origin, status, started_at, finished_at, error FROM meta.builds WHERE run_id = ?",
        [run_id],
    ).fetchone()
    if run is None:
        return None
    per_table = con.execute(
        """
        SELECT table_name, count(*) FILTER (WHERE status = 'success'), count(*) FILTER (WHERE status = 'skipped'),
               count(*) FILTER (WHERE status IN ('pending', 'failed')), coalesce(sum(rows_out), 0),
               coalesce(sum(seconds), 0)
        FROM meta.build_runs WHERE run_id = ? GROUP BY table_name ORDER BY min(seq)
        """,
        [run_id],
    ).fetchall()
    tests = con.execute(
        "SELECT table_name, test, status, failing, sample, detail FROM meta.test_results WHERE run_id = ?", [run_id]
    ).fetchall()
    return {
        "run_id": run[0],
        "request": json.loads(run[1]),
        "origin": run[2],
        "status": run[3],
        "started_at": run[4].isoformat(),
        "finished_at": run[5].isoformat() if run[5] else None,
        "error": run[6],
        "tables": [
            {
                "table": t,
                "batches": int(ok),
                "skipped": int(skipped),
                "unfinished": int(todo),
                "rows": int(rows),
                "seconds": round(float(secs), 3),
                "tests": [
                    {
                        "test": x[1],
                        "status": x[2],
                        "failing": int(x[3]),
                        "sample": json.loads(x[4] or "[]"),
                        "detail": x[5],
                    }
                    for x in tests
                    if x[0] == t
                ],
            }
            for t, ok, skipped, todo, rows, secs in per_table
        ],
    }


def data_status(check: dict[str, Any], tables: set[str]) -> dict[str, Any] | None:
    """What a metric answer says of the tables it read: the worst status and each table's notes (None when
    no table it read is built or watched)."""
    read = {t.lower() for t in tables}
    mine = [t for t in check["tables"] if t["table"] in read]
    if not mine:
        return None
    worst = (
        "error"
        if any(t["status"] == "error" for t in mine)
        else "warn"
        if any(t["status"] == "warn" for t in mine)
        else "ok"
    )
    return {
        "status": worst,
        "tables": {
            t["table"]: {
                "status": t["status"],
                "notes": t["notes"],
                "last_build": (t["last_build"] or {}).get("finished_at"),
            }
            for t in mine
        },
    }


def recent_runs(con: duckdb.DuckDBPyConnection, limit: int = 50) -> list[dict[str, Any]]:
    """The latest builds, newest first: id, origin, status, times, batches and rows."""
    rows = con.execute(
        """
        SELECT b.run_id, b.origin, b.status, b.started_at, b.finished_at, b.error,
               count(r.seq) FILTER (WHERE r.status = 'success'), count(r.seq), coalesce(sum(r.rows_out), 0)
        FROM meta.builds b LEFT JOIN meta.build_runs r USING (run_id)
        GROUP BY ALL ORDER BY b.started_at DESC LIMIT ?
        """,
        [limit],
    ).fetchall()
    return [
        {
            "run_id": run_id,
            "origin": origin,
            "status": status,
            "started_at": started.isoformat(),
            "finished_at": finished.isoformat() if finished else None,
            "error": error,
            "batches_done": int(done),
            "batches_total": int(total),
            "rows": int(n_rows),
        }
        for run_id, origin, status, started, finished, error, done, total, n_rows in rows
    ]
