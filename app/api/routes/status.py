"""/status: the morning check (DESIGN 11) — builds, failed tests, stale tables, late rows, grain coverage."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.api.deps import StateDep
from app.api.schemas import MorningCheck
from app.demo.clock import build_until
from app.engine.building.status import morning_check

router = APIRouter(tags=["status"])


@router.get(
    "/status",
    summary="The morning check: last builds, failed tests, stale tables, late rows, coverage",
    response_model=MorningCheck,
)
def status(state: StateDep) -> dict[str, Any]:
    cur = state.con.cursor()
    try:
        return morning_check(cur, state.project, build_until(cur, state.settings.clock()))
    finally:
        cur.close()
