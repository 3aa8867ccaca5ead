"""Request parameters -> MetricQuery, and MetricResult -> JSON or CSV responses."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from app.api.state import ServiceState
from app.api.usage import UsageContext
from app.compiler.query import MetricQuery, build_query, split_list
from app.compiler.sql import CompiledQuery, compile_query
from app.engine.metrics import MetricResult, run_compiled, tables_read
from app.errors import InvalidQuery
from app.governance.deprecation import Signal, signal, touched
from app.settings import Settings

FORMATS = ("json", "csv")


class QueryParams(BaseModel):
    """The query parameters of GET /metrics/{name} (DESIGN 4), as typed by a person."""

    model_config = ConfigDict(extra="forbid")

    grain: str | None = Field(None, description="hour, day, week, month, quarter or year; omit for one total")
    dimensions: str | None = Field(
        None, description="Comma-separated dimensions, e.g. customer_tier,customer.sales_region"
    )
    start: str | None = Field(None, description="Inclusive ISO date or timestamp (UTC)")
    end: str | None = Field(None, description="Inclusive ISO date or timestamp; a date includes its whole day")
    where: str | None = Field(
        None, description="Boolean SQL over the metric's dimensions, e.g. customer_tier IN ('growth','enterprise')"
    )
    order: str | None = Field(None, description="Comma-separated columns, '-' for descending, e.g. -mrr,period")
    limit: int | None = Field(None, ge=0, description="Rows to return (default TAPFLOW_DEFAULT_LIMIT)")
    offset: int = Field(0, ge=0, description="Rows to skip")
    compare: Literal["prior_period", "prior_year"] | None = Field(
        None, description="Add <metric>_prior, _change, _change_pct"
    )
    fill: Literal["none", "null", "zero"] = Field("none", description="Produce missing periods with null or zero")
    version: int | None = Field(None, ge=1, description="Answer with this served version of the metric")
    format: str | None = Field(None, description="json (default) or csv; Accept: text/csv works too")


class SqlParams(QueryParams):
    dialect: str = Field(
        "duckdb", description="duckdb, snowflake, bigquery, postgres, spark, trino, databricks or redshift"
    )


QueryParamsDep = Annotated[QueryParams, Query()]
SqlParamsDep = Annotated[SqlParams, Query()]


class QueryRequest(BaseModel):
    """POST /query: several metrics sharing grain, dimensions and filters."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "metrics": ["mrr", "arpa"],
                    "grain": "month",
                    "dimensions": ["customer_tier"],
                    "where": "sales_region <> 'EMEA'",
                    "start": "2025-01-01",
                    "end": "2025-12-31",
                    "order": ["-mrr"],
                    "limit": 100,
                    "compare": "prior_year",
                    "fill": "zero",
                }
            ]
        },
    )

    metrics: list[str] = Field(min_length=1, max_length=200)
    grain: str | None = None
    dimensions: list[str] = Field(default_factory=list, max_length=50)
    start: str | None = None
    end: str | None = None
    where: str | None = None
    order: list[str] = Field(default_factory=list, max_length=50)
    limit: int | None = Field(None, ge=0)
    offset: int = Field(0, ge=0)
    compare: Literal["prior_period", "prior_year"] | None = None
    fill: Literal["none", "null", "zero"] = "none"
    version: int | None = Field(None, ge=1)
    format: str | None = None


def query_from_params(settings: Settings, name: str, p: QueryParams) -> MetricQuery:
    return build_query(
        settings,
        [name],
        grain=p.grain,
        dimensions=split_list(p.dimensions),
        start=p.start,
        end=p.end,
        where=p.where,
        order=split_list(p.order),
        limit=p.limit,
        offset=p.offset,
        compare=p.compare,
        fill=p.fill,
        version=p.version,
    )


def query_from_body(settings: Settings, body: QueryRequest) -> MetricQuery:
    return build_query(
        settings,
        body.metrics,
        grain=body.grain,
        dimensions=body.dimensions,
        start=body.start,
        end=body.end,
        where=body.where,
        order=body.order,
        limit=body.limit,
        offset=body.offset,
        compare=body.compare,
        fill=body.fill,
        version=body.version,
    )


def wants_csv(request: Request, fmt: str | None) -> bool:
    if fmt is not None:
        value = fmt.strip().lower()
        if value not in FORMATS:
            raise InvalidQuery(f"Unknown format '{fmt[:40]}'. Allowed: json, csv.")
        return value == "csv"
    return "text/csv" in request.headers.get("accept", "")


def usage(request: Request) -> UsageContext | None:
    return getattr(request.state, "usage", None)


def note_query(request: Request, query: MetricQuery) -> None:
    ctx = usage(request)
    if ctx is not None:
        ctx.metrics, ctx.grain, ctx.dimensions = list(query.metrics), query.grain, list(query.dimensions)


def check_deprecations(state: ServiceState, request: Request, compiled: CompiledQuery) -> Signal:
    """Deprecation signal of a compiled query (410 past a sunset); noted for usage either way."""
    objects = touched(state.project, list(compiled.metrics) + list(compiled.base_metrics), tables_read(compiled))
    ctx = usage(request)
    if ctx is not None:
        ctx.versions = [m.version for m in compiled.metrics]
        ctx.deprecated = [o.name for o in objects]
        ctx.entities = sorted({m.table.entity for m in compiled.base_metrics if m.table})
    return signal(state.project, objects, state.settings.clock())


def answer(
    state: ServiceState,
    request: Request,
    query: MetricQuery,
    fmt: str | None,
    shape: Callable[[MetricResult], dict[str, Any]],
) -> Response:
    """Compile, check deprecations, run, and respond (JSON or CSV) with the deprecation headers."""
    note_query(request, query)
    wants = wants_csv(request, fmt)
    compiled = compile_query(state.project, query)
    sig = check_deprecations(state, request, compiled)
    result = run_compiled(state.con, compiled, query, timeout_s=state.settings.query_timeout_s)
    result.warnings.extend(sig.warnings)
    ctx = usage(request)
    if ctx is not None:
        ctx.row_count = len(result.rows)
    response = csv_response(result) if wants else JSONResponse(shape(result) | {"meta": meta(result, sig)})
    response.headers.update(sig.headers)
    return response


def meta(result: MetricResult, sig: Signal) -> dict[str, Any]:
    q = result.query
    return {
        "row_count": len(result.rows),
        "truncated": result.truncated,
        "limit": q.limit,
        "offset": q.offset,
        "elapsed_ms": round(result.elapsed_ms, 3),
        "cached": False,
        "sql": result.sql,
        "params": result.compiled.params,
        "warnings": result.warnings,
        "deprecation": sig.meta,
    }


def metric_payload(result: MetricResult) -> dict[str, Any]:
    return {
        "columns": [{"name": c.name, "type": c.type} for c in result.columns],
        "rows": result.rows,
    }


def single_metric_body(result: MetricResult) -> dict[str, Any]:
    q = result.query
    metric = result.compiled.metrics[0]
    return {
        "metric": metric.name,
        "label": metric.spec.label or metric.name,
        "version": metric.version,
        "grain": q.grain,
        "dimensions": list(q.dimensions),
        **metric_payload(result),
    }


def multi_metric_body(result: MetricResult) -> dict[str, Any]:
    q = result.query
    return {
        "metrics": [
            {"name": m.name, "label": m.spec.label or m.name, "version": m.version} for m in result.compiled.metrics
        ],
        "grain": q.grain,
        "dimensions": list(q.dimensions),
        **metric_payload(result),
    }


def csv_response(result: MetricResult) -> Response:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    names = [c.name for c in result.columns]
    writer.writerow(names)
    for row in result.rows:
        writer.writerow(["" if row[n] is None else row[n] for n in names])
    headers = {"X-Truncated": "true" if result.truncated else "false"}
    return Response(buf.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)
