"""Request parameters -> MetricQuery, and MetricResult -> JSON or CSV responses."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from app.api.caching import CACHE_CONTROL, etag_of, expiry, matches, remember_usage
from app.api.state import ServiceState
from app.api.usage import UsageContext
from app.compiler.query import MetricQuery, QueryOptions
from app.compiler.sql import CompiledQuery, compile_query
from app.engine.cache import Entry
from app.engine.executor import timeout_error
from app.engine.metrics import MetricResult, run_compiled, tables_read
from app.errors import InvalidQuery, QueryTimeout
from app.governance.deprecation import Signal, signal, touched
from app.settings import Settings

FORMATS = ("json", "csv")


class OutputOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    format: str | None = Field(None, description="json (default) or csv; Accept: text/csv works too")


class MetricDataParams(QueryOptions, OutputOptions):
    """GET /metrics/{name}: the query options (the metric is the path) and the output format."""


class MetricSqlParams(QueryOptions):
    """GET /metrics/{name}/sql: the query options and the SQL dialect."""

    dialect: str = Field(
        "duckdb", description="duckdb, snowflake, bigquery, postgres, spark, trino, databricks or redshift"
    )


class QueryRequest(MetricQuery, OutputOptions):
    """POST /query: several metrics sharing grain, dimensions and filters, and the output format."""


MetricDataParamsDep = Annotated[MetricDataParams, Query()]
MetricSqlParamsDep = Annotated[MetricSqlParams, Query()]


def metric_query(settings: Settings, metrics: tuple[str, ...] | list[str], options: QueryOptions) -> MetricQuery:
    """The query of ``metrics`` with ``options`` (GET parameters or a POST body), within the service's limits."""
    return MetricQuery.of(metrics, options).within(settings)


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
    project = compiled.project
    objects = touched(project, list(compiled.metrics) + list(compiled.base_metrics), tables_read(compiled))
    ctx = usage(request)
    if ctx is not None:
        ctx.versions = [m.version for m in compiled.metrics]
        ctx.deprecated = [o.name for o in objects]
        ctx.entities = sorted({m.table.entity for m in compiled.base_metrics if m.table})
    return signal(project, objects, state.settings.clock())


def answer(
    state: ServiceState,
    request: Request,
    query: MetricQuery,
    fmt: str | None,
    shape: Callable[[MetricResult], dict[str, Any]],
    cache_key: tuple | None = None,
) -> Response:
    """Compile, check deprecations, run, respond (JSON or CSV) with deprecation and cache headers,
    and keep the rendered answer in the result cache under ``cache_key``."""
    note_query(request, query)
    wants = wants_csv(request, fmt)
    project = state.project  # one snapshot for the whole request, whatever a reload swaps in
    compiled = compile_query(project, query)
    sig = check_deprecations(state, request, compiled)
    result = run_in_slot(state, compiled, query)
    result.warnings.extend(sig.warnings)
    ctx = usage(request)
    if ctx is not None:
        ctx.row_count = len(result.rows)
    shaped = shape(result)
    etag = etag_of([project.hash, state.data_version, wants, shaped, sig.meta])
    headers = {**sig.headers, "ETag": etag, "Cache-Control": CACHE_CONTROL}
    if wants:
        body, media_type = csv_text(result).encode(), "text/csv; charset=utf-8"
        headers["X-Truncated"] = "true" if result.truncated else "false"
        cached_body = body
    else:
        payload = shaped | {"meta": meta(result, sig)}
        body, media_type = _json(payload), "application/json"
        payload["meta"]["cached"] = True
        cached_body = _json(payload)
    key = cache_key or getattr(request.state, "cache_key", None)
    if key is not None:
        sunsets = [o.sunset_at() for o in sig.objects if o.sunset_at() is not None]
        expires = expiry(state.cache.ttl_s, sunsets, state.settings.clock())
        remembered = (
            {k: getattr(ctx, k) for k in ("versions", "entities", "grain", "dimensions", "row_count", "deprecated")}
            if ctx is not None
            else {}
        )
        state.cache.put(key, Entry(cached_body, media_type, headers, etag, expires, remembered))
    if matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers={"ETag": etag, "Cache-Control": CACHE_CONTROL})
    return Response(body, media_type=media_type, headers=headers)


def run_in_slot(state: ServiceState, compiled: CompiledQuery, query: MetricQuery) -> MetricResult:
    """Run on DuckDB once one of the query slots is free; waiting counts against the timeout."""
    timeout = state.settings.query_timeout_s
    started = time.monotonic()
    if not state.query_slots.acquire(timeout=timeout):
        raise QueryTimeout(f"The service is busy: no query slot freed within {timeout:g} s. Try again shortly.")
    try:
        remaining = max(0.001, timeout - (time.monotonic() - started))
        return run_compiled(state.con, compiled, query, timeout_s=remaining)
    except QueryTimeout:
        raise timeout_error(timeout) from None  # name the configured limit, not what was left of it
    finally:
        state.query_slots.release()


def cached_response(request: Request, entry: Entry) -> Response:
    """An answer from the result cache (for routes that check it themselves, such as POST /query)."""
    remember_usage(usage(request), entry)
    if matches(request.headers.get("if-none-match"), entry.etag):
        return Response(status_code=304, headers={"ETag": entry.etag, "Cache-Control": CACHE_CONTROL})
    return Response(entry.body, media_type=entry.media_type, headers=entry.headers)


def _json(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


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


def csv_text(result: MetricResult) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    names = [c.name for c in result.columns]
    writer.writerow(names)
    for row in result.rows:
        writer.writerow(["" if row[n] is None else row[n] for n in names])
    return buf.getvalue()
