"""/pre-aggregations: each rollup's coverage, size, last refresh, hits and misses (DESIGN 13)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter

from app.api.deps import StateDep
from app.api.schemas import PreAggregationList
from app.compiler.matching import Coverage

router = APIRouter(tags=["pre-aggregations"])


@router.get(
    "/pre-aggregations",
    summary="The rollups: what each holds, where it is current, its size, last refresh, hits and misses",
    response_model=PreAggregationList,
)
def pre_aggregations(state: StateDep) -> dict[str, Any]:
    project = state.project
    known = state.rollup_coverage(project, sizes=True)
    out = []
    for r in sorted(project.rollups.values(), key=lambda r: r.name):
        cov = known.get(r.name, Coverage())  # another warehouse: rollups are built in the DuckDB file only
        refresh = r.spec.refresh
        out.append(
            {
                "name": r.name,
                "table": r.physical,
                "declared_in": r.declared_in,
                "base_table": r.table.name,
                "metrics": list(r.metrics),
                "dimensions": list(r.dimensions),
                "grain": r.grain,
                "refresh": f"PT{int(refresh.every.total_seconds())}S" if refresh else None,
                "coverage": [_span(a, b) for a, b in cov.current],
                "base_coverage": _span(*cov.extent) if cov.extent else None,
                "rows": cov.rows,
                "bytes": cov.bytes,
                "last_refresh": cov.refreshed.isoformat() if cov.refreshed else None,
                "hits": state.rollup_hits[r.name],
                "misses": state.rollup_misses[r.name],
                "notes": list(r.notes),
            }
        )
    return {"pre_aggregations": out}


def _span(start: datetime, end: datetime) -> dict[str, str]:
    return {"from": start.isoformat(), "until": end.isoformat()}
