"""POST /query and /query/sql: several metrics sharing grain, dimensions and filters."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from app.api.deps import StateDep
from app.api.querying import QueryRequest, multi_metric_body, query_from_body, respond
from app.compiler.sql import compile_query
from app.engine.metrics import run_metric_query

router = APIRouter(prefix="/query", tags=["query"])


@router.post("", summary="Query several metrics at once, joined on period and dimensions")
def query(body: QueryRequest, request: Request, state: StateDep) -> Response:
    q = query_from_body(state.settings, body)
    result = run_metric_query(state.con, state.project, q, timeout_s=state.settings.query_timeout_s)
    return respond(request, body.format, result, multi_metric_body(result))


@router.post("/sql", summary="The SQL of a multi-metric query", response_class=PlainTextResponse)
def query_sql(body: QueryRequest, state: StateDep, dialect: str = "duckdb") -> PlainTextResponse:
    compiled = compile_query(state.project, query_from_body(state.settings, body))
    return PlainTextResponse(compiled.sql(dialect.lower(), pretty=True) + "\n")
