"""/deprecations: the migration dashboard (who still uses what, until when, and how to move)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from app.api.deps import StateDep
from app.api.state import ServiceState
from app.governance.deprecation import DeprecatedObject, all_objects, as_dict, find_object, migration_guide
from app.governance.lineage import Lineage, build_lineage
from app.governance.usage import consumers_of

router = APIRouter(prefix="/deprecations", tags=["governance"])


def dashboard_entry(state: ServiceState, obj: DeprecatedObject, lineage: Lineage, *, guide: bool) -> dict[str, Any]:
    project, now = state.project, state.settings.clock()
    kind = "metric" if obj.kind == "version" else obj.kind
    dependents = [lineage.nodes[n] for n in lineage.downstream(f"{kind}:{obj.name}")]
    consumers = consumers_of(state.con, obj.name, now)
    entry = as_dict(project, obj, now) | {
        "dependents": [{"kind": d.kind, "name": d.name} for d in dependents],
        "consumers": consumers,
        "requests_7d": sum(c["requests_7d"] for c in consumers),
        "requests_30d": sum(c["requests_30d"] for c in consumers),
        "last_seen": max((c["last_seen"] for c in consumers if c["last_seen"]), default=None),
        "past_sunset": obj.is_past_sunset(now),
    }
    if guide:
        entry["migration_guide"] = migration_guide(state.settings.project_dir, obj)
    return entry


@router.get("", summary="Deprecated objects with dependents, consumers and days to sunset")
def list_deprecations(state: StateDep) -> dict[str, Any]:
    state.recorder.flush()
    lineage = build_lineage(state.project)
    items = [dashboard_entry(state, o, lineage, guide=False) for o in all_objects(state.project)]
    items.sort(key=lambda e: (e["sunset_date"] or "9999", e["name"]))
    return {"deprecations": items, "count": len(items), "as_of": state.settings.clock().isoformat()}


@router.get("/{name}", summary="One deprecated object, with its migration guide")
def deprecation_detail(name: str, state: StateDep) -> dict[str, Any]:
    state.recorder.flush()
    return dashboard_entry(state, find_object(state.project, name), build_lineage(state.project), guide=True)


@router.get("/{name}/guide", summary="The migration guide (Markdown)", response_class=PlainTextResponse)
def deprecation_guide(name: str, state: StateDep) -> PlainTextResponse:
    obj = find_object(state.project, name)
    return PlainTextResponse(migration_guide(state.settings.project_dir, obj), media_type="text/markdown")
