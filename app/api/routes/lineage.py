"""GET /lineage (json or mermaid) and /lineage/{node} (upstream and downstream)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from app.api.deps import StateDep
from app.api.governance_schemas import LineageGraph, NodeLineage
from app.api.media import MermaidResponse
from app.api.schemas import text_response
from app.api.state import ServiceState
from app.governance.deprecation import all_objects
from app.governance.lineage import Lineage, build_lineage

router = APIRouter(prefix="/lineage", tags=["governance"])
MERMAID = text_response(MermaidResponse.media_type, "A mermaid flowchart (format=mermaid)")


def _graph(state: ServiceState) -> Lineage:
    return build_lineage(state.project, {o.name for o in all_objects(state.project)})


def _render(graph: Lineage, fmt: str, extra: dict[str, Any] | None = None) -> Response:
    if fmt == "mermaid":
        return MermaidResponse(graph.mermaid())
    return JSONResponse((extra or {}) | graph.as_json())


@router.get(
    "",
    summary="Tables -> entities -> metrics -> derived metrics",
    response_model=LineageGraph,
    responses=MERMAID,
)
def lineage(state: StateDep, format: Literal["json", "mermaid"] = "json") -> Response:
    return _render(_graph(state), format)


@router.get(
    "/{node}",
    summary="Upstream and downstream of one table, entity or metric",
    response_model=NodeLineage,
    responses=MERMAID,
)
def lineage_of(node: str, state: StateDep, format: Literal["json", "mermaid"] = "json") -> Response:
    graph = _graph(state)
    node_id = graph.resolve(node)
    up, down = graph.upstream(node_id), graph.downstream(node_id)
    sub = graph.subgraph({node_id, *up, *down})
    extra = {
        "node": vars(graph.nodes[node_id]),
        "upstream": [vars(graph.nodes[n]) for n in up],
        "downstream": [vars(graph.nodes[n]) for n in down],
    }
    return _render(sub, format, extra)
