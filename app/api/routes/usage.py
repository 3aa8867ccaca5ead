"""GET /usage: usage events aggregated by metric, consumer or day."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter

from app.api.deps import StateDep
from app.api.governance_schemas import UsageSummary
from app.compiler.query import parse_time
from app.governance.usage import summarize

router = APIRouter(prefix="/usage", tags=["governance"])


@router.get("", summary="Usage events aggregated by metric, consumer or day", response_model=UsageSummary)
def usage_summary(
    state: StateDep,
    group_by: Literal["metric", "consumer", "day"] = "metric",
    metric: str | None = None,
    consumer: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> dict[str, Any]:
    state.recorder.flush()
    start = parse_time(since, "since") if since else None
    end = parse_time(until, "until") if until else None
    rows = summarize(state.statedb, group_by=group_by, metric=metric, consumer=consumer, since=start, until=end)
    return {"group_by": group_by, "rows": rows, "count": len(rows)}
