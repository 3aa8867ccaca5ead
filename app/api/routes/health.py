"""GET /health: liveness, the loaded definitions' hash, and warnings."""

from __future__ import annotations

import os
from typing import Any

from fastapi import APIRouter, Request

from app import __version__
from app.api.context import request_context
from app.api.deps import StateDep
from app.api.schemas import Health
from app.demo.generator import SEEDED_TABLES, is_seeded
from app.engine.warehouse import DuckDBWarehouse

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    summary="Liveness; with a valid key (or auth off) the loaded definitions' hash, database and warnings",
    response_model=Health,
    response_model_exclude_none=True,
)
def health(state: StateDep, request: Request) -> dict[str, Any]:
    auth = "off" if state.settings.api_keys_file is None else "on"
    if auth == "on" and request_context(request.scope).api_key is None:
        return {"status": "ok", "auth": auth}  # liveness only: no path, PID or definitions to anyone
    if isinstance(state.warehouse, DuckDBWarehouse):
        cur = state.con.cursor()
        try:
            seeded = is_seeded(cur)
        finally:
            cur.close()
    else:  # the demo's inputs in the other warehouse, as its catalog was read
        seeded = set(SEEDED_TABLES) <= set(state.catalog)
    return {
        "status": "ok",
        "version": __version__,
        "definitions_hash": state.project.hash,
        "metrics": len(state.project.metrics),
        "entities": len(state.project.entities),
        "database": str(state.settings.database),
        "warehouse": state.warehouse.name,
        "state_database": state.statedb.name,
        "seeded": seeded,
        "auth": auth,
        "pid": os.getpid(),
        "data_version": state.data_version,
        "warnings": state.warnings,
        "unauthenticated_requests": state.recorder.unauthenticated,
        "cache": {"entries": len(state.cache), "bytes": state.cache.nbytes, "max_bytes": state.cache.max_bytes},
    }
