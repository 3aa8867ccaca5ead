"""Metric queries over HTTP: request parameters -> MetricQuery, and the steps of answering one.

``answer`` runs the steps, each one function with one job: note the query for usage, negotiate
the format, compile, check deprecations, run in a query slot, render (``rendering``), store in
the result cache (``caching``) and answer 200 or 304 (``conditional``).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import datetime
from functools import cache
from typing import Any, TypeVar, get_origin

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.api.caching import store
from app.api.conditional import conditional_response
from app.api.context import RequestContext
from app.api.media import accepts_csv
from app.api.rendering import Rendered, Shape, render
from app.api.state import ServiceState
from app.compiler.query import MetricQuery, QueryOptions
from app.compiler.sql import CompiledQuery, compile_query
from app.engine.building.status import data_status
from app.engine.database import timeout_error
from app.engine.runner import MetricResult, run_compiled, tables_read
from app.engine.warehouse import DuckDBWarehouse
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


Params = TypeVar("Params", bound=BaseModel)


def query_params(request: Request, model: type[Params]) -> Params:
    """The query string as ``model``, as FastAPI reads a query model, at a tenth of its cost on the hot path:
    a list field takes every value given for it, another field its one value (repeats are a 400)."""
    lists = _list_fields(model)
    data: dict[str, Any] = {}
    for name, value in request.query_params.multi_items():
        if name in lists:
            data.setdefault(name, []).append(value)
        elif name in data and name in model.model_fields:
            refuse_repeated(request, model)  # raises: says which parameter, and how many times
        else:
            data[name] = value  # an unknown parameter is refused by the model (its last value quoted)
    try:
        return model.model_validate(data)
    except ValidationError as exc:  # the one shape of a bad parameter (problems.validation_error)
        raise RequestValidationError([{**e, "loc": ("query", *e["loc"])} for e in exc.errors()]) from None


@cache
def _list_fields(model: type[BaseModel]) -> frozenset[str]:
    """The fields of ``model`` that take a list (``dimensions=a&dimensions=b``)."""
    return frozenset(name for name, field in model.model_fields.items() if get_origin(field.annotation) is tuple)


def documented(model: type[BaseModel], leave_out: tuple[str, ...] = ()) -> dict[str, Any]:
    """``openapi_extra`` listing ``model``'s fields (but ``leave_out``) as the query parameters of a route that
    reads them itself."""
    schema = model.model_json_schema()["properties"]
    return {
        "parameters": [
            {"name": name, "in": "query", "required": False, "schema": schema[name], "description": field.description}
            for name, field in model.model_fields.items()
            if name not in leave_out
        ]
    }


def refuse_repeated(request: Request, model: type[BaseModel]) -> None:
    """A parameter that takes one value, given twice (``grain=month&grain=year``), is a 400: never a
    silent pick of one of them. Lists (dimensions, order) may be repeated."""
    counts = Counter(name for name, _ in request.query_params.multi_items())
    lists = _list_fields(model)
    for name, count in sorted(counts.items()):
        if count > 1 and name in model.model_fields and name not in lists:
            raise InvalidQuery(f"{name} is given {count} times; give it once.")


def metric_query(settings: Settings, metrics: tuple[str, ...] | list[str], options: QueryOptions) -> MetricQuery:
    """The query of ``metrics`` with ``options`` (GET parameters or a POST body), within the service's limits."""
    return MetricQuery.of(metrics, options).within(settings)


def asked_query(state: ServiceState, name: str, request: Request) -> tuple[MetricQuery, str | None]:
    """The query and format of ``GET /metrics/{name}`` with this query string, read once and then remembered by
    it: a dashboard asks the same URLs over and over (0.2 ms a request). A query string that fails is read, and
    refused, every time; a path and query string longer than ``ASKED_LONGEST`` are read every time too, so that
    what is kept stays small (``ServiceState.asked`` keeps 1,024: 13 MB at most) whatever URLs are
    sent."""
    key = (name, request.scope["query_string"])
    known = state.asked.get(key)
    if known is None:
        params = query_params(request, MetricDataParams)
        known = (metric_query(state.settings, [name], params), params.format)
        if len(name) + len(key[1]) <= ASKED_LONGEST:
            state.asked.put(key, known)
    return known


ASKED_LONGEST = 512  # characters of path and query string: a dashboard's URLs are shorter


def wants_csv(request: Request, fmt: str | None) -> bool:
    if fmt is not None:
        value = fmt.strip().lower()
        if value not in FORMATS:
            raise InvalidQuery(f"Unknown format '{fmt[:40]}'. Allowed: json, csv.")
        return value == "csv"
    return accepts_csv(request.headers.get("accept", ""))


def sql_text(state: ServiceState, ctx: RequestContext, query: MetricQuery, dialect: str) -> PlainTextResponse:
    """The compiled SQL of ``query`` for ``dialect``, values written in, with deprecation headers."""
    note_query(ctx, query)
    compiled = compile_query(state.project, query, state.coverage(state.project))
    sig = check_deprecations(state, ctx, compiled)
    return PlainTextResponse(compiled.sql(dialect.strip().lower(), pretty=True) + "\n", headers=sig.headers)


def note_query(ctx: RequestContext, query: MetricQuery) -> None:
    if ctx.usage is not None:
        ctx.usage.note_query(query)


def check_deprecations(state: ServiceState, ctx: RequestContext, compiled: CompiledQuery) -> Signal:
    """Deprecation signal of a compiled query (410 past a sunset); noted for usage either way."""
    project = compiled.project
    objects = touched(project, [*compiled.metrics, *compiled.base_metrics], compiled.template.tables)
    if ctx.usage is not None:
        ctx.usage.versions = [m.version for m in compiled.metrics]
        ctx.usage.deprecated = [o.name for o in objects]
        ctx.usage.entities = sorted({m.table.entity for m in compiled.base_metrics if m.table})
    return signal(project, objects, state.settings.clock())


def run_in_slot(state: ServiceState, compiled: CompiledQuery, query: MetricQuery) -> MetricResult:
    """Run on the warehouse once one of the query slots is free; waiting counts against the timeout."""
    timeout = state.settings.query_timeout_s
    started = time.monotonic()
    if not state.query_slots.acquire(timeout=timeout):
        raise QueryTimeout(f"The service is busy: no query slot freed within {timeout:g} s. Try again shortly.")
    try:
        remaining = max(0.001, timeout - (time.monotonic() - started))
        # the data's end is remembered per data version of the DuckDB file; another warehouse's data changes
        # without it, so its end is read with each answer
        version = state.data_version if isinstance(state.warehouse, DuckDBWarehouse) else None
        return run_compiled(state.warehouse, compiled, query, timeout_s=remaining, data_version=version)
    except QueryTimeout:
        raise timeout_error(timeout) from None  # name the configured limit, not what was left of it
    finally:
        state.query_slots.release()


def answer(
    state: ServiceState, request: Request, ctx: RequestContext, query: MetricQuery, fmt: str | None, shape: Shape
) -> Response:
    """Answer a metric query (JSON shaped by ``shape``, or CSV) with deprecation and cache headers and a
    ``Server-Timing`` of its steps; the rendered answer is kept in the result cache under ``ctx.cache_key``
    when there is one."""
    note_query(ctx, query)
    csv = wants_csv(request, fmt)
    started = time.perf_counter()
    project = state.project  # one snapshot for the whole request, whatever a reload swaps in
    compiled = compile_query(project, query, state.coverage(project))
    state.note_rollups(compiled.pre_aggregation)
    sig = check_deprecations(state, ctx, compiled)
    compiled_at = time.perf_counter()
    result = run_in_slot(state, compiled, query)
    ran_at = time.perf_counter()
    result.warnings.extend(sig.warnings)
    result.data_status = data_status(state.check(), tables_read(compiled))
    if result.data_status is not None:
        result.warnings.extend(
            f"{name}: {'; '.join(t['notes'])}" for name, t in result.data_status["tables"].items() if t["notes"]
        )
    if ctx.usage is not None:
        ctx.usage.row_count = len(result.rows)
    rendered = render(result, shape, sig, csv=csv, version=(project.hash, state.data_version))
    if ctx.cache_key is not None:
        store(state, ctx.cache_key, rendered, _sunsets(sig), ctx)
    response = respond(request, rendered)
    steps = {  # milliseconds; what is left of a request's time is HTTP, routing and the thread hop
        "compile": (compiled_at - started) * 1000,
        "db": result.elapsed_ms,
        "shape": (ran_at - compiled_at) * 1000 - result.elapsed_ms,
        "render": (time.perf_counter() - ran_at) * 1000,
    }
    response.headers["Server-Timing"] = ", ".join(f"{name};dur={ms:.3f}" for name, ms in steps.items())
    return response


async def answer_in_worker(
    state: ServiceState, request: Request, ctx: RequestContext, query: MetricQuery, fmt: str | None, shape: Shape
) -> Response:
    """``answer`` on one of the service's worker threads, awaited from the event loop. An ``async`` route with this
    one hop answers about half a millisecond sooner than a plain ``def`` route, which FastAPI runs through anyio's
    thread pool (measured side by side with a 50 ms query: bench/README)."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(state.workers, answer, state, request, ctx, query, fmt, shape)


def respond(request: Request, rendered: Rendered) -> Response:
    return conditional_response(
        request.headers.get("if-none-match"), rendered.etag, rendered.body, rendered.media_type, rendered.headers
    )


def _sunsets(sig: Signal) -> list[datetime]:
    return [s for s in (o.sunset_at() for o in sig.objects) if s is not None]
