"""/metrics: the catalog, a metric's data, its definition and its SQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse, Response

from app.api.deps import ContextDep, StateDep
from app.api.querying import (
    MetricDataParams,
    MetricSqlParams,
    answer_in_worker,
    asked_query,
    documented,
    metric_query,
    query_params,
    sql_text,
)
from app.api.rendering import single_metric_body
from app.api.schemas import (
    NOT_MODIFIED,
    MetricCatalog,
    MetricData,
    MetricDefinition,
    MetricVersions,
    text_response,
)
from app.compiler.query import check_time_zone
from app.compiler.sql import DIALECTS
from app.compiler.zones import stored_timestamps
from app.definitions.project import MetricVersion, Project
from app.engine.coverage import table_coverage
from app.governance.deprecation import DeprecatedObject, all_objects, metric_objects, signal
from app.governance.versions import version_history

router = APIRouter(prefix="/metrics", tags=["metrics"])


def catalog_entry(
    project: Project,
    m: MetricVersion,
    deprecated: dict[str, DeprecatedObject] | None = None,
) -> dict[str, Any]:
    spec = m.spec
    if deprecated is None:
        deprecated = metric_deprecations(project)
    dep = deprecated.get(m.name)
    return {
        "name": m.name,
        "label": spec.label or m.name,
        "description": spec.description.strip(),
        "calculation_method": spec.calculation_method,
        "version": m.version,
        "versions": [v.version for v in project.versions(m.name)],
        "owner": spec.meta.owner,
        "verified": spec.meta.verified,
        "tags": list(spec.meta.tags),
        "grains": list(m.grains),
        "dimensions": list(m.dimensions),
        "qualified_dimensions": list(m.qualified),
        "table": m.table.name if m.table else None,
        "entity": m.table.entity if m.table else None,
        "depends_on": list(m.depends_on),
        "deprecation": (dep.deprecation.model_dump(mode="json") | {"inherited_from": dep.inherited_from})
        if dep
        else None,
    }


def metric_deprecations(project: Project) -> dict[str, DeprecatedObject]:
    """Each deprecated metric (own or inherited), by name."""
    return {o.name: o for o in all_objects(project) if o.kind == "metric"}


@router.get("", summary="The metric catalog", response_model=MetricCatalog)
def list_metrics(
    state: StateDep,
    coverage: Annotated[
        bool, Query(description="Add each metric's first and last data time (reads its table)")
    ] = False,
    tz: Annotated[str | None, Query(description="The zone coverage is told in (default TAPFLOW_TIME_ZONE)")] = None,
) -> dict[str, Any]:
    project = state.project
    deprecated = metric_deprecations(project)
    items = [catalog_entry(project, m, deprecated) for m in sorted(project.metrics.values(), key=lambda m: m.name)]
    if coverage:
        zone = check_time_zone(tz or state.settings.time_zone)
        spans: dict[tuple[str, str], dict[str, Any]] = {}  # each table and time column read once
        for item in items:
            m = project.metrics[item["name"]]
            if m.table is not None and m.spec.timestamp:
                key = (m.table.name, m.spec.timestamp)
                if key not in spans:
                    spans[key] = table_coverage(
                        state.warehouse, m.table, timeout_s=state.settings.query_timeout_s, timestamp=m.spec.timestamp
                    )
                item["coverage"] = metric_coverage(spans[key], m, zone)
    return {"metrics": items, "count": len(items), "definitions_hash": project.hash}


def metric_coverage(span: dict[str, Any], m: MetricVersion, zone: str) -> dict[str, Any]:
    """A table's first and last time, told in ``zone`` when they are stored UTC instants (dates as they are)."""
    assert m.table is not None
    shifted = m.spec.timestamp in stored_timestamps(m.table) and zone != "UTC"

    def told(value: str | None) -> str | None:
        if value is None or not shifted:
            return value
        return datetime.fromisoformat(value).replace(tzinfo=UTC).astimezone(ZoneInfo(zone)).isoformat()

    return {"tz": zone, "first": told(span.get("min")), "last": told(span.get("max"))}


@router.get(
    "/{name}",
    summary="A metric's data by grain and dimensions (JSON or CSV)",
    response_model=MetricData,
    responses={**text_response("text/csv", "The rows as CSV (format=csv or Accept: text/csv)"), **NOT_MODIFIED},
    openapi_extra=documented(MetricDataParams),
)
async def metric_data(name: str, request: Request, state: StateDep, ctx: ContextDep) -> Response:
    query, fmt = asked_query(state, name, request)
    return await answer_in_worker(state, request, ctx, query, fmt, single_metric_body)


@router.get(
    "/{name}/sql",
    summary="The compiled SQL of a metric query",
    response_class=PlainTextResponse,
    openapi_extra=documented(MetricSqlParams),
)
def metric_sql(name: str, request: Request, state: StateDep, ctx: ContextDep) -> PlainTextResponse:
    params = query_params(request, MetricSqlParams)
    return sql_text(state, ctx, metric_query(state.settings, [name], params), params.dialect)


@router.get(
    "/{name}/versions",
    summary="Every served version: hash, deployments, diff to the previous one",
    response_model=MetricVersions,
)
def metric_versions(name: str, state: StateDep) -> dict[str, Any]:
    state.project.metric(name)
    versions = version_history(state.statedb, state.project, name)
    warnings = [w for w in state.warnings if f"Metric '{name}' " in w]
    return {
        "metric": name,
        "current_version": state.project.metrics[name].version,
        "versions": versions,
        "warnings": warnings,
    }


@router.get(
    "/{name}/definition",
    summary="The definition, its versions, lineage and deprecation",
    response_model=MetricDefinition,
)
def metric_definition(name: str, response: Response, state: StateDep, ctx: ContextDep) -> dict[str, Any]:
    project = state.project
    m = project.metric(name)
    source = project.sources.get(f"metric:{name}")
    downstream = sorted(d.name for d in project.metrics.values() if name in d.depends_on)
    objects = metric_objects(project, m)
    sig = signal(project, objects, state.settings.clock(), enforce=False)
    if ctx.usage is not None:
        ctx.usage.versions, ctx.usage.deprecated = [m.version], sig.names
    response.headers.update(sig.headers)
    return {
        **catalog_entry(project, m),
        "definition": m.spec.model_dump(mode="json", exclude_none=True),
        "source": {"file": source.file, "line": source.line} if source else None,
        "served_versions": [
            {
                "version": v.version,
                "sunset_date": v.sunset_date.isoformat() if v.sunset_date else None,
                "definition": v.spec.model_dump(mode="json", exclude_none=True, exclude={"previous_versions"}),
            }
            for v in project.versions(name)
        ],
        "lineage": {
            "upstream": {
                "table": m.table.name if m.table else None,
                "entity": m.table.entity if m.table else None,
                "metrics": list(m.depends_on),
            },
            "downstream": {"metrics": downstream},
        },
        "dialects": list(DIALECTS),
        "deprecation": sig.meta,
    }
