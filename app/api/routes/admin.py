"""/admin: operations on the running service (the admin scope guards them once keys are on)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response

from app.api.deps import StateDep
from app.api.schemas import BuildBody, BuildList, BuildStatus, ReloadResult, SeedResult, TestBody, TestRun
from app.demo.generator import seed
from app.demo.pipeline import build_everything
from app.engine.building.checks import test_tables
from app.engine.building.plan import BuildRequest
from app.engine.building.status import recent_runs, recorded_run
from app.engine.warehouse import DuckDBWarehouse, only_on_duckdb
from app.errors import Forbidden, NotFound, QueryTimeout, SeedError

router = APIRouter(prefix="/admin", tags=["admin"])


@router.post(
    "/reload",
    summary="Validate the definitions on disk and swap them in (422 with the problems if invalid)",
    response_model=ReloadResult,
)
def reload(state: StateDep) -> dict[str, Any]:
    project = state.reload()
    return {
        "definitions_hash": project.hash,
        "metrics": len(project.metrics),
        "entities": len(project.entities),
        "warnings": state.warnings,
    }


@router.post(
    "/seed",
    summary="Regenerate the demo inputs in place and build every entity table (demo mode only; bumps the data "
    "version; the seed is rolled back past TAPFLOW_SEED_TIMEOUT_S)",
    response_model=SeedResult,
)
def reseed(state: StateDep, scale: float = Query(1.0, gt=0, le=100)) -> dict[str, Any]:
    settings = state.settings
    if not settings.demo_mode:
        raise Forbidden(
            "POST /admin/seed replaces every table with generated demo data; it is refused unless the service "
            "was started in demo mode (TAPFLOW_DEMO_MODE=true, as `make run` does)."
        )
    only_on_duckdb(settings, "Reseeding (POST /admin/seed)")
    cur = state.con.cursor()
    try:
        with state.builder.exclusive("POST /admin/seed"):
            report = seed(cur, scale, timeout_s=settings.seed_timeout_s)
            build_everything(cur, settings.project_dir, settings.clock(), origin="api")
    except SeedError as exc:
        if "nterrupt" in exc.detail:
            raise QueryTimeout(
                f"Seeding ran longer than {settings.seed_timeout_s:g} s (TAPFLOW_SEED_TIMEOUT_S) and was rolled "
                "back; the data is as it was. Seed a smaller scale, or raise the limit."
            ) from None
        raise
    finally:
        cur.close()
    state.data_changed()
    return {
        "customers": report.customers,
        "rows": report.total_rows,
        "elapsed_s": round(report.elapsed_s, 3),
        "data_version": state.data_version,
    }


@router.post(
    "/builds",
    status_code=202,
    summary="Build entity tables in the service (dependency order, batch by batch); 202 with the run's id",
    response_model=BuildStatus,
)
def start_build(state: StateDep, body: BuildBody, response: Response) -> dict[str, Any]:
    job = state.builder.submit(BuildRequest(tuple(body.tables), body.start, body.end, body.full_refresh))
    response.headers["Location"] = f"/admin/builds/{job.run_id}"
    return job.as_dict()


@router.get("/builds", summary="The latest builds (50), newest first", response_model=BuildList)
def list_builds(state: StateDep) -> dict[str, Any]:
    cur = state.con.cursor()
    try:
        runs = recent_runs(cur)
    finally:
        cur.close()
    return {"builds": runs, "running": state.builder.running.run_id if state.builder.running else None}


@router.get(
    "/builds/{run_id}", summary="A build's progress, or its report when it has ended", response_model=BuildStatus
)
def build_status(state: StateDep, run_id: str) -> dict[str, Any]:
    job = state.builder.jobs.get(run_id)
    if job is not None:
        return job.as_dict()
    cur = state.con.cursor()
    try:
        recorded = recorded_run(cur, run_id)
    finally:
        cur.close()
    if recorded is None:
        raise NotFound(f"No build '{run_id}'. Start one with POST /admin/builds; `tapflow status` lists recent ones.")
    return recorded


@router.post(
    "/tests", summary="Run the data tests beside each table (all, or the tables named)", response_model=TestRun
)
def run_table_tests(state: StateDep, body: TestBody) -> dict[str, Any]:
    external = None if isinstance(state.warehouse, DuckDBWarehouse) else state.warehouse
    cur = state.con.cursor()
    try:
        timeout = state.settings.build_batch_timeout_s
        results = test_tables(cur, state.project, body.tables, timeout, warehouse=external)
    finally:
        cur.close()
    return {"results": [r.as_dict() for r in results], "failed": sum(r.status != "pass" for r in results)}


@router.delete(
    "/builds/{run_id}",
    status_code=202,
    summary="Cancel a running build: it stops after (or within) its current batch; the same request resumes it",
    response_model=BuildStatus,
)
def cancel_build(state: StateDep, run_id: str) -> dict[str, Any]:
    job = state.builder.cancel(run_id)
    if job is None:
        raise NotFound(f"No build '{run_id[:40]}' in this service's memory. GET /admin/builds lists builds.")
    return job.as_dict()
