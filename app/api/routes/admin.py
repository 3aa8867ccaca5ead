"""/admin: operations on the running service (the admin scope guards them once keys are on)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from app.api.deps import StateDep
from app.api.schemas import ReloadResult, SeedResult
from app.demo.generator import seed
from app.errors import Forbidden, QueryTimeout, SeedError

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
    summary="Rebuild the demo data in place (demo mode only; bumps the data version; rolled back past "
    "TAPFLOW_SEED_TIMEOUT_S)",
    response_model=SeedResult,
)
def reseed(state: StateDep, scale: float = Query(1.0, gt=0, le=100)) -> dict[str, Any]:
    settings = state.settings
    if not settings.demo_mode:
        raise Forbidden(
            "POST /admin/seed replaces every table with generated demo data; it is refused unless the service "
            "was started in demo mode (TAPFLOW_DEMO_MODE=true, as `make run` does)."
        )
    cur = state.con.cursor()
    try:
        report = seed(cur, scale, timeout_s=settings.seed_timeout_s)
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
