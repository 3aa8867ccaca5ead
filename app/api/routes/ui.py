"""The web catalog (DESIGN 5, issue 17): pages for people, made from what the API answers.

``/`` and ``/ui/...`` answer the page's shell. With keys off the shell holds the page's body, rendered here;
with keys on it holds nothing but the key prompt, and the page fetches its body from ``/ui/fragments/...``
with the key (a ``read`` path like any other), then its charts' data from ``/metrics/{name}``. The same
contexts make the static site of ``tapflow docs``.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from app.api.deps import StateDep
from app.api.internal import ask
from app.api.querying import metric_query
from app.api.routes.deprecations import list_deprecations
from app.api.routes.entities import describe
from app.api.routes.metrics import catalog_entry, list_metrics, metric_versions
from app.api.state import ServiceState
from app.compiler.plan import base_metrics
from app.compiler.query import MetricQuery, QueryOptions
from app.compiler.sql import compile_query
from app.engine.building.status import latest_tests
from app.errors import InvalidRequest, NotFound, TapflowError
from app.governance.dashboard import dashboard_entry
from app.governance.deprecation import all_objects, find_object, migration_guide
from app.governance.lineage import Node, build_lineage
from app.governance.usage import summarize
from app.web.lineage_svg import lineage_svg
from app.web.render import PAGES, Links, render_body, render_document

router = APIRouter(tags=["web catalog"], include_in_schema=False)
AGENT = "tapflow-ui"
PREFERRED_GRAINS = ("month", "week", "day", "quarter", "year", "hour")  # a chart's first grain, in this order


def default_grain(grains: list[str]) -> str | None:
    return next((g for g in PREFERRED_GRAINS if g in grains), grains[0] if grains else None)


# -- each page's context: what its template shows ------------------------------------------------------------
def catalog_context(state: ServiceState) -> dict[str, Any]:
    metrics = list_metrics(state)["metrics"]
    for m in metrics:
        m["spark"] = default_grain(m["grains"])
    return {"metrics": metrics, "entities": sorted(state.project.entities)}


def metric_context(state: ServiceState, name: str, base_url: str) -> dict[str, Any]:
    project = state.project
    m = project.metric(name)
    entry = catalog_entry(project, m)
    entry["definition"] = m.spec.model_dump(mode="json", exclude_none=True)
    grain = default_grain(entry["grains"])
    dep, guide = None, None
    if entry["deprecation"]:
        obj = find_object(project, name)
        state.recorder.flush()
        now = state.settings.clock()
        dep = dashboard_entry(project, state.statedb, obj, build_lineage(project), now)
        guide = migration_guide(state.settings.project_dir, obj)
    try:  # the SQL the service runs for the chart's first view: its limits, rollups and engine
        query = metric_query(state.settings, [name], QueryOptions.model_validate({"grain": grain}))
        compiled = compile_query(project, query, state.coverage(project))
        sql = compiled.sql(state.warehouse.dialect, pretty=True)
    except TapflowError as exc:
        sql = f"-- not compiled: {exc.detail}"
    bases = base_metrics(project, MetricQuery(metrics=(name,)))
    tables = {b.table.name.lower() for b in bases if b.table is not None}
    status = list(state.morning(coverage=False, only=tables)["tables"]) if tables else []
    state.recorder.flush()  # the consumers read include the requests just answered
    since = state.settings.clock() - timedelta(days=30)
    consumers = [
        {"consumer": r["key"], "requests": r["requests"], "last_seen": r["last_seen"]}
        for r in summarize(state.statedb, group_by="consumer", metric=name, since=since)
    ]
    asked = f"grain={grain}&format=csv" if grain else "format=csv"
    root = base_url.rstrip("/")
    return {
        "m": entry,
        "dep": dep,
        "guide": guide,
        "sla_hours": m.spec.meta.sla_hours,
        "downstream": sorted(d.name for d in project.metrics.values() if name in d.depends_on),
        "chart": {"grains": entry["grains"], "grain": grain, "dimensions": entry["dimensions"]},
        "versions": list(reversed(metric_versions(name, state)["versions"])),
        "sql": sql,
        "csv_url": f"{root}/metrics/{name}?{asked}",  # served: relative (the page fills in its own address)
        "csv_path": f"/metrics/{name}?{asked}",
        "curl": f"curl -H \"Authorization: Bearer $TAPFLOW_API_KEY\" '{root}/metrics/{name}?{asked}'",
        "status": status,
        "consumers": consumers,
    }


def entity_context(state: ServiceState, name: str) -> dict[str, Any]:
    e = describe(state, name, coverage=True)
    names = {t["name"].lower() for t in e["tables"]}
    cur = state.con.cursor()
    try:
        tests = [t for t in latest_tests(cur) if t["table"].lower() in names]
    finally:
        cur.close()
    return {"e": e, "tests": tests}


def lineage_context(state: ServiceState, links: Links) -> dict[str, Any]:
    project = state.project
    graph = build_lineage(project, {o.name for o in all_objects(project)})
    owner = {bound.name: entity for (entity, _), bound in project.tables.items()}

    def link(node: Node) -> str | None:
        if node.kind == "metric":
            return links.page("metric", node.name.split("@")[0])
        if node.kind == "table" and node.name in owner:
            return links.page("entity", owner[node.name])
        if node.kind == "entity":
            return links.page("entity", node.name)
        return None

    dependents: dict[str, list[str]] = {}
    for edge in graph.edges:
        if edge.kind != "part_of":
            dependents.setdefault(edge.source, []).append(graph.nodes[edge.target].name)
    nodes = [
        {
            "id": n.id,
            "name": n.name,
            "kind": n.kind,
            "deprecated": n.deprecated,
            "href": link(n),
            "dependents": sorted(set(dependents.get(n.id, []))),
        }
        for n in sorted(graph.nodes.values(), key=lambda n: (n.kind, n.name))
    ]
    return {"svg": lineage_svg(graph, link), "nodes": nodes}


def deprecations_context(state: ServiceState) -> dict[str, Any]:
    body = list_deprecations(state)
    return {"items": body["deprecations"], "as_of": body["as_of"]}


def page_context(state: ServiceState, page: str, name: str | None, links: Links, base_url: str) -> dict[str, Any]:
    """The context of ``page`` (for the pages of one metric or entity, ``name``)."""
    if page in ("metric", "entity") and not name:
        raise InvalidRequest(f"The {page} page needs a name, e.g. /ui/fragments/{page}?name=...")
    if page == "catalog":
        return catalog_context(state)
    if page == "metric":
        return metric_context(state, str(name), base_url)
    if page == "entity":
        state.project.entity(str(name))  # an unknown entity is a 404 naming the closest
        return entity_context(state, str(name))
    if page == "lineage":
        return lineage_context(state, links)
    if page == "deprecations":
        return deprecations_context(state)
    return {}


def title_of(page: str, name: str | None) -> str:
    return {"catalog": "Catalog", "lineage": "Lineage", "deprecations": "Deprecations", "impact": "Impact"}.get(
        page, f"{page} {name}"
    )


# -- routes ------------------------------------------------------------------------------------------------
def _shell(state: ServiceState, request: Request, page: str, name: str | None = None) -> HTMLResponse:
    links = Links()
    if state.settings.api_keys_file:  # nothing but the shell until the page has a key: it fetches its body with it
        query = "?" + urlencode({"name": name}) if name else ""
        document = render_document(
            page, title_of(page, name), links, body=None, fragment_url=f"/ui/fragments/{page}{query}"
        )
    else:
        body = render_body(page, page_context(state, page, name, links, ""), links)
        document = render_document(page, title_of(page, name), links, body=body)
    return HTMLResponse(document, headers=NO_STORE)


NO_STORE = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    # scripts only from the service's own files: an injected <script> or on* attribute would not run
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'",
    "Referrer-Policy": "same-origin",
}


@router.get("/", response_class=HTMLResponse)
def catalog_page(request: Request, state: StateDep) -> HTMLResponse:
    return _shell(state, request, "catalog")


@router.get("/ui/metrics/{name}", response_class=HTMLResponse)
def metric_page(name: str, request: Request, state: StateDep) -> HTMLResponse:
    return _shell(state, request, "metric", name)


@router.get("/ui/entities/{name}", response_class=HTMLResponse)
def entity_page(name: str, request: Request, state: StateDep) -> HTMLResponse:
    return _shell(state, request, "entity", name)


@router.get("/ui/{page}", response_class=HTMLResponse)
def other_page(page: str, request: Request, state: StateDep) -> HTMLResponse:
    if page not in ("lineage", "deprecations", "impact"):
        raise NotFound(f"Unknown page '{page[:40]}'. Pages: /, /ui/lineage, /ui/deprecations, /ui/impact.")
    return _shell(state, request, page)


COARSE_TO_FINE = ("year", "quarter", "month", "week", "day", "hour")
SPARK_POINTS = 6  # fewer periods than this at the catalog's grain: the sparkline takes a finer one


async def sparkline_answers(app: Any, metrics: list[dict[str, Any]]) -> dict[str, Any]:
    """Each metric's answer at its catalog grain (or a finer one when its history is short), asked of the
    service as its own requests: browsing the catalog is not a use of each metric."""
    out: dict[str, Any] = {}
    for m in metrics:
        grains = (
            [g for g in PREFERRED_GRAINS[PREFERRED_GRAINS.index(m["spark"]) :] if g in m["grains"]]
            if m["spark"]
            else []
        )
        for grain in grains[:3]:
            answer = await ask(app, f"/metrics/{quote(m['name'], safe='')}", f"grain={grain}", AGENT)
            if answer.status != 200:
                break
            body = json.loads(answer.body)
            out[m["name"]] = {"grain": grain, "columns": body["columns"], "rows": body["rows"]}
            if len(body["rows"]) >= SPARK_POINTS:
                break
    return out


@router.get("/ui/data/sparklines")
async def sparklines(request: Request, state: StateDep) -> JSONResponse:
    """The catalog's sparklines: every metric's answer in one request (see ``sparkline_answers``)."""
    return JSONResponse(await sparkline_answers(request.app, catalog_context(state)["metrics"]), headers=NO_STORE)


@router.get("/ui/fragments/{page}", response_class=HTMLResponse)
def fragment(page: str, request: Request, state: StateDep, name: str | None = None) -> Response:
    """A page's body, for a page that had to ask for the key first."""
    if page not in PAGES:
        raise NotFound(f"Unknown page '{page[:40]}'. Pages: {', '.join(PAGES)}.")
    links = Links()
    body = render_body(page, page_context(state, page, name, links, ""), links)
    return HTMLResponse(body, headers=NO_STORE)
