"""/entities: tables per grain with row counts and date coverage, dimensions, relationships."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.api.deps import StateDep
from app.api.state import ServiceState
from app.engine.coverage import table_coverage

router = APIRouter(prefix="/entities", tags=["entities"])


def describe(state: ServiceState, name: str, *, coverage: bool) -> dict[str, Any]:
    project = state.project
    entity = project.entity(name)
    tables = []
    for key, spec in entity.tables.items():
        bound = project.tables[(name, key)]
        item: dict[str, Any] = {
            "key": key,
            "name": spec.name,
            "grain": bound.finest_grain,
            "timestamp": spec.timestamp,
            "description": spec.description,
            "deprecation": spec.deprecation.model_dump(mode="json") if spec.deprecation else None,
        }
        if coverage:
            item |= table_coverage(state.con, bound, timeout_s=state.settings.query_timeout_s)
        tables.append(item)
    metrics = sorted(m.name for m in project.metrics.values() if m.table and m.table.entity == name)
    return {
        "name": entity.name,
        "description": entity.description,
        "primary_key": entity.primary_key,
        "tables": tables,
        "dimensions": [d.model_dump(mode="json", exclude_none=True) for d in entity.dimensions],
        "columns": [c.model_dump(mode="json") for c in entity.columns],
        "relationships": [r.model_dump(mode="json") for r in entity.relationships],
        "metrics": metrics,
        "deprecation": entity.deprecation.model_dump(mode="json") if entity.deprecation else None,
    }


@router.get("", summary="Entities with their tables, dimensions and relationships")
def list_entities(state: StateDep, coverage: bool = False) -> dict[str, Any]:
    items = [describe(state, n, coverage=coverage) for n in sorted(state.project.entities)]
    return {"entities": items, "count": len(items)}


@router.get("/{name}", summary="One entity, with row counts and date coverage of each table")
def entity_detail(name: str, state: StateDep) -> dict[str, Any]:
    return describe(state, name, coverage=True)
