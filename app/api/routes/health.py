"""GET /health: liveness, the loaded definitions' hash, and warnings."""

from __future__ import annotations

import os
from typing import Any

from fastapi import APIRouter, Request

from app import __version__
from app.api.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/health", summary="Liveness and the loaded definitions' hash", response_model=Health)
def health(request: Request) -> dict[str, Any]:
    state = request.app.state.tapflow
    cur = state.con.cursor()
    try:
        seeded = cur.execute("SELECT count(*) FROM meta.seed_runs").fetchone()[0] > 0
    finally:
        cur.close()
    return {
        "status": "ok",
        "version": __version__,
        "definitions_hash": state.project.hash,
        "metrics": len(state.project.metrics),
        "entities": len(state.project.entities),
        "database": str(state.settings.database),
        "seeded": seeded,
        "auth": "off" if state.settings.api_keys_file is None else "on",
        "pid": os.getpid(),
        "data_version": state.data_version,
        "warnings": state.warnings,
    }
