"""/deprecations: the migration dashboard (who still uses what, until when, and how to move)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.api.deps import StateDep
from app.api.governance_schemas import DeprecationDetail, DeprecationList
from app.api.media import MarkdownResponse
from app.governance.dashboard import dashboard, dashboard_entry
from app.governance.deprecation import find_object, migration_guide
from app.governance.lineage import build_lineage

router = APIRouter(prefix="/deprecations", tags=["governance"])


@router.get(
    "", summary="Deprecated objects with dependents, consumers and days to sunset", response_model=DeprecationList
)
def list_deprecations(state: StateDep) -> dict[str, Any]:
    state.recorder.flush()
    items = dashboard(state.project, state.statedb, state.settings.clock())
    return {"deprecations": items, "count": len(items), "as_of": state.settings.clock().isoformat()}


@router.get("/{name}", summary="One deprecated object, with its migration guide", response_model=DeprecationDetail)
def deprecation_detail(name: str, state: StateDep) -> dict[str, Any]:
    state.recorder.flush()
    project = state.project
    return dashboard_entry(
        project,
        state.statedb,
        find_object(project, name),
        build_lineage(project),
        state.settings.clock(),
        guide_base=state.settings.project_dir,
    )


@router.get("/{name}/guide", summary="The migration guide (Markdown)", response_class=MarkdownResponse)
def deprecation_guide(name: str, state: StateDep) -> MarkdownResponse:
    obj = find_object(state.project, name)
    return MarkdownResponse(migration_guide(state.settings.project_dir, obj))
