"""/admin: operations on the running service (the admin scope guards them once keys are on)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from app.api.deps import StateDep
from app.api.schemas import ReloadResult, SeedResult
from app.demo.generator import seed

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
    "/seed", summary="Rebuild the demo data in place (a build: bumps the data version)", response_model=SeedResult
)
def reseed(state: StateDep, scale: float = Query(1.0, gt=0, le=100)) -> dict[str, Any]:
    cur = state.con.cursor()
    try:
        report = seed(cur, scale)
    finally:
        cur.close()
    state.data_changed()
    return {
        "customers": report.customers,
        "rows": report.total_rows,
        "elapsed_s": round(report.elapsed_s, 3),
        "data_version": state.data_version,
    }
