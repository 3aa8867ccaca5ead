"""GET /health: liveness, the loaded definitions' hash, and warnings."""

from __future__ import annotations

import os
from typing import Any

from fastapi import APIRouter

from app import __version__
from app.api.deps import StateDep
from app.api.schemas import Health
from app.demo.generator import is_seeded

router = APIRouter(tags=["health"])


@router.get("/health", summary="Liveness and the loaded definitions' hash", response_model=Health)
def health(state: StateDep) -> dict[str, Any]:
    cur = state.con.cursor()
    try:
        seeded = is_seeded(cur)
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
