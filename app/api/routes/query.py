"""POST /query and /query/sql: several metrics sharing grain, dimensions and filters."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from app.api.caching import cache_key, cached_response
from app.api.deps import ContextDep, StateDep
from app.api.querying import QueryRequest, answer_in_worker, metric_query, sql_text, wants_csv
from app.api.rendering import multi_metric_body
from app.api.schemas import NOT_MODIFIED, MultiMetricData, text_response

router = APIRouter(prefix="/query", tags=["query"])


@router.post(
    "",
    summary="Query several metrics at once, joined on period and dimensions",
    response_model=MultiMetricData,
    responses={**text_response("text/csv", "The rows as CSV (format=csv or Accept: text/csv)"), **NOT_MODIFIED},
)
async def query(body: QueryRequest, request: Request, state: StateDep, ctx: ContextDep) -> Response:
    if state.cache.enabled:
        key = cache_key(state, "POST", "/query", body.model_dump_json(), wants_csv(request, body.format))
        entry = state.cache.get(key)
        if entry is not None:
            return cached_response(request.headers.get("if-none-match"), entry, ctx)
        ctx.cache_key = key
    query = metric_query(state.settings, body.metrics, body)
    return await answer_in_worker(state, request, ctx, query, body.format, multi_metric_body)


@router.post("/sql", summary="The SQL of a multi-metric query", response_class=PlainTextResponse)
def query_sql(body: QueryRequest, state: StateDep, ctx: ContextDep, dialect: str = "duckdb") -> PlainTextResponse:
    return sql_text(state, ctx, metric_query(state.settings, body.metrics, body), dialect)
