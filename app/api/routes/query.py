"""POST /query and /query/sql: several metrics sharing grain, dimensions and filters."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from app.api.caching import full_key
from app.api.deps import StateDep
from app.api.querying import (
    QueryRequest,
    answer,
    cached_response,
    check_deprecations,
    metric_query,
    multi_metric_body,
    note_query,
    wants_csv,
)
from app.api.schemas import MultiMetricData
from app.compiler.sql import compile_query

router = APIRouter(prefix="/query", tags=["query"])


@router.post(
    "",
    summary="Query several metrics at once, joined on period and dimensions",
    response_model=MultiMetricData,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}, 304: {"description": "Not modified"}},
)
def query(body: QueryRequest, request: Request, state: StateDep) -> Response:
    key = full_key(state, ("POST", "/query", body.model_dump_json(), wants_csv(request, body.format)))
    entry = state.cache.get(key) if state.cache.enabled else None
    if entry is not None:
        return cached_response(request, entry)
    return answer(state, request, metric_query(state.settings, body.metrics, body), body.format, multi_metric_body, key)


@router.post("/sql", summary="The SQL of a multi-metric query", response_class=PlainTextResponse)
def query_sql(body: QueryRequest, request: Request, state: StateDep, dialect: str = "duckdb") -> PlainTextResponse:
    q = metric_query(state.settings, body.metrics, body)
    note_query(request, q)
    compiled = compile_query(state.project, q)
    sig = check_deprecations(state, request, compiled)
    return PlainTextResponse(compiled.sql(dialect.strip().lower(), pretty=True) + "\n", headers=sig.headers)
