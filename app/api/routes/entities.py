"""/entities: tables per grain with row counts and date coverage, dimensions, relationships."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from app.api.deps import ContextDep, StateDep
from app.api.schemas import EntityDetail, EntityList
from app.api.state import ServiceState
from app.engine.coverage import table_coverage
from app.governance.deprecation import DeprecatedObject, signal

router = APIRouter(prefix="/entities", tags=["entities"])


def describe(state: ServiceState, name: str, *, coverage: bool) -> dict[str, Any]:
    project = state.project
    entity = project.entity(name)
    tables: list[dict[str, Any]] = []
    names = {t.name.lower() for t in entity.tables.values()}
    checked = {t["table"]: t for t in state.morning(only=names)["tables"]} if coverage else {}
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
            item |= table_coverage(state.warehouse, bound, timeout_s=state.settings.query_timeout_s)
            row = checked.get(spec.name.lower())
            if row is not None:
                item["build"] = {k: v for k, v in row.items() if k not in ("table", "entity", "key")} | {
                    "kind": _kind(spec.build)
                }
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


def _kind(build: Any) -> str | None:
    if build is None:
        return None
    kind = "scd2" if build.scd2 else "snapshot" if build.snapshot else "sql"
    return kind + (" incremental" if build.incremental else "")


# exclude_unset: a table's coverage fields appear only when coverage was read
@router.get(
    "",
    summary="Entities with their tables, dimensions and relationships",
    response_model=EntityList,
    response_model_exclude_unset=True,
)
def list_entities(state: StateDep, coverage: bool = False) -> dict[str, Any]:
    items = [describe(state, n, coverage=coverage) for n in sorted(state.project.entities)]
    return {"entities": items, "count": len(items)}


@router.get(
    "/{name}",
    summary="One entity, with row counts and date coverage of each table",
    response_model=EntityDetail,
    response_model_exclude_unset=True,
)
def entity_detail(name: str, response: Response, state: StateDep, ctx: ContextDep) -> dict[str, Any]:
    body = describe(state, name, coverage=True)
    entity = state.project.entity(name)
    objects = [DeprecatedObject("entity", name, entity.deprecation)] if entity.deprecation else []
    objects += [DeprecatedObject("table", t.name, t.deprecation) for t in entity.tables.values() if t.deprecation]
    sig = signal(state.project, objects, state.settings.clock(), enforce=False)
    if ctx.usage is not None:
        ctx.usage.deprecated = sig.names
    response.headers.update(sig.headers)
    return body | {"deprecation_signal": sig.meta}
