"""Builds inside the service, the one process that writes the DuckDB file: one at a time on a thread of its
own, asked for by POST /admin/builds or by a table's ``refresh: {every}``; queries keep reading committed data
while it runs, and every finished batch moves the data version (the answer cache follows)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import duckdb
from starlette.types import ASGIApp

from app.api.warming import warm
from app.definitions.project import Project
from app.demo.clock import build_until
from app.engine.building.plan import BuildPlan, BuildRequest, plan_build
from app.engine.building.runner import BuildReport, Progress, run_build
from app.engine.warehouse import buildable, is_external
from app.errors import BuildConflict, TapflowError

if TYPE_CHECKING:
    from app.api.state import ServiceState

log = logging.getLogger("tapflow")
TICK_S = 30.0  # how often the schedule looks for tables due


@dataclass
class Job:
    """A build the service runs: its plan, progress, and report when done."""

    run_id: str
    request: BuildRequest
    origin: str
    plan: BuildPlan
    started: float = field(default_factory=time.perf_counter)
    progress: Progress | None = None
    report: BuildReport | None = None
    error: str | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    cursor: duckdb.DuckDBPyConnection | None = None  # while it runs: interrupted to cancel a long batch
    warmed: int | None = None  # answers computed again into the result cache after it (warming.py)

    def as_dict(self) -> dict[str, Any]:
        done = sum(1 for b in self.plan.batches if b.done) if self.progress is None else self.progress.batches_done
        p = self.progress
        out: dict[str, Any] = {
            "run_id": self.run_id,
            "origin": self.origin,
            "request": self.request.as_dict(),
            "status": "running" if self.report is None and self.error is None else "failed",
            "resumed": self.plan.resumed,
            "until": self.plan.until.isoformat(),
            "tables": [  # each table's report replaces these when the build ends
                {
                    "table": t.name,
                    "batches": len(t.batches),
                    "skipped": sum(b.done for b in t.batches),
                    "rows": 0,
                    "seconds": 0.0,
                    "late_rows": None,
                    "tests": [],
                }
                for t in self.plan.tables
            ],
            "seconds": round(time.perf_counter() - self.started, 3),
            "batches_total": len(self.plan.batches),
            "batches_done": done,
            "rows": p.rows_total if p else 0,
            "current_table": p.table if p else None,
            "elapsed_s": round(time.perf_counter() - self.started, 3),
            "eta_s": None if p is None or p.eta_s is None else round(p.eta_s, 1),
            "error": self.error,
            "warmed": self.warmed,
        }
        if self.report is not None:
            out |= self.report.as_dict()
        return out


def schedules(project: Project) -> list[tuple[str, str, timedelta]]:
    """(name a build request takes, table name its batches are recorded under, every) of each table and rollup
    with ``refresh: {every}``."""
    out = [(t.name.lower(), t.name.lower(), t.spec.refresh.every) for t in project.tables.values() if t.spec.refresh]
    out += [(r.name, r.physical, r.spec.refresh.every) for r in project.rollups.values() if r.spec.refresh]
    return out


class Builder:
    """Runs the service's builds, one at a time, and the refresh schedule."""

    def __init__(self, state: ServiceState):
        self.state = state
        self.lock = threading.Lock()
        self.jobs: dict[str, Job] = {}
        self.running: Job | None = None
        self.busy: str | None = None  # another writer holding the builder (the demo's seed)
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None
        self.scheduler: threading.Thread | None = None
        self.app: ASGIApp | None = None  # the application, to warm its answers after a build (set at startup)

    def start(self) -> None:
        """Mark builds a killed service left running as interrupted (resumable), start the schedule."""
        cur = self.state.con.cursor()
        try:
            cur.execute("UPDATE meta.builds SET status = 'interrupted' WHERE status = 'running'")
        finally:
            cur.close()
        if schedules(self.state.project) and not is_external(self.state.settings):
            self.scheduler = threading.Thread(target=self._schedule, name="tapflow-refresh", daemon=True)
            self.scheduler.start()

    def submit(self, request: BuildRequest, origin: str = "api") -> Job:
        """Plan ``request`` and start it; 409 while another build runs."""
        target = buildable(self.state.warehouse, "A build (POST /admin/builds)")
        with self.lock:
            if self.busy is not None:
                raise BuildConflict(f"The demo is being seeded ({self.busy}); build when it is done.")
            if self.running is not None:
                raise BuildConflict(
                    f"Build {self.running.run_id} is running; wait for it (GET /admin/builds/{self.running.run_id}) "
                    f"or cancel it (DELETE /admin/builds/{self.running.run_id})."
                )
            cur = self.state.con.cursor()
            try:
                now = self.state.settings.clock()
                until = build_until(cur, now, self.state.catalog if target is not None else None)
                plan = plan_build(cur, self.state.project, request, until, warehouse=target)
            finally:
                cur.close()
            job = Job(plan.run_id, request, origin, plan)
            self.jobs[job.run_id] = job
            self.running = job
            self.thread = threading.Thread(target=self._run, args=(job,), name=f"tapflow-build-{job.run_id}")
            self.thread.start()
            return job

    @contextmanager
    def exclusive(self, what: str) -> Iterator[None]:
        """No build starts while the block runs (409 if one is running now)."""
        with self.lock:
            if self.running is not None or self.busy is not None:
                raise BuildConflict(
                    f"A build is running ({self.running.run_id if self.running else self.busy}); try later."
                )
            self.busy = what
        try:
            yield
        finally:
            with self.lock:
                self.busy = None

    def cancel(self, run_id: str) -> Job | None:
        """Stop a running build: after its current batch, or within it when the statement running on its
        connection can be interrupted (that batch rolled back); the same request resumes it."""
        job = self.jobs.get(run_id)
        if job is not None and job.report is None and job.error is None:
            job.cancel.set()
            if job.cursor is not None:
                job.cursor.interrupt()
        return job

    def _run(self, job: Job) -> None:
        state = self.state
        cur = state.con.cursor()
        job.cursor = cur
        try:

            def on_batch(p: Progress) -> None:
                job.progress = p
                state.data_changed()

            job.report = run_build(
                cur,
                state.project,
                job.plan,
                origin=job.origin,
                on_batch=on_batch,
                stop=job.cancel,
                batch_timeout_s=state.settings.build_batch_timeout_s,
                warehouse=buildable(state.warehouse, "A build"),
            )
            if any(t.name not in state.catalog for t in job.plan.tables):
                self._reload()  # a table built for the first time: the definitions see its columns
        except TapflowError as exc:
            job.error = exc.detail
            log.error("build %s failed: %s", job.run_id, exc.detail)
        except Exception as exc:  # noqa: BLE001 - a thread has no caller to raise to
            job.error = f"{type(exc).__name__}: {exc}"
            log.exception("build %s failed", job.run_id)
        finally:
            job.cursor = None
            cur.close()
            state.data_changed()
            with self.lock:
                self.running = None
        if job.report is not None and any(t.rows or t.batches for t in job.report.tables) and self.app is not None:
            try:
                job.warmed = warm(self.app, state)
            except Exception:  # noqa: BLE001 - warming is a courtesy: it never fails a build
                log.exception("warming after build %s failed", job.run_id)

    def _reload(self) -> None:
        try:
            self.state.reload()
        except TapflowError as exc:
            log.error("after a build, the definitions did not reload; the last valid set keeps serving: %s", exc.detail)

    def _schedule(self) -> None:
        """Every TICK_S (or half the shortest ``refresh.every``), build the tables and rollups whose
        ``refresh.every`` has passed since their last build."""
        everies = [every.total_seconds() for _, _, every in schedules(self.state.project)]
        tick = max(0.1, min([TICK_S, *(e / 2 for e in everies)]))
        while not self.stop.wait(tick):
            due = self.due(datetime.now())  # the wall clock, as the database's now() that stamps builds
            if due and self.running is None:
                try:
                    self.submit(BuildRequest(tuple(due)), origin="schedule")
                except TapflowError as exc:
                    log.warning("scheduled build of %s not started: %s", ", ".join(due), exc.detail)

    def due(self, now: datetime) -> list[str]:
        cur = self.state.con.cursor()
        try:
            last = dict(
                cur.execute(
                    "SELECT table_name, max(finished_at) FROM meta.build_runs WHERE status = 'success' GROUP BY ALL"
                ).fetchall()
            )
        finally:
            cur.close()
        out = []
        for asked, built, every in schedules(self.state.project):
            done = last.get(built)
            if done is None or done + every <= now:
                out.append(asked)
        return out

    def close(self) -> None:
        """Stop the schedule and a running build (its batch rolled back; it resumes on the next run)."""
        self.stop.set()
        running = self.running
        if running is not None:
            self.cancel(running.run_id)
        if self.thread is not None:
            self.thread.join(timeout=60)
