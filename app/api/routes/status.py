"""/status: the morning check (DESIGN 11) — builds, failed tests, stale tables, late rows, grain coverage."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.api.deps import StateDep
from app.api.schemas import MorningCheck

router = APIRouter(tags=["status"])


@router.get(
    "/status",
    summary="The morning check: last builds, failed tests, stale tables, late rows, coverage",
    response_model=MorningCheck,
)
def status(state: StateDep) -> dict[str, Any]:
    return state.morning()
