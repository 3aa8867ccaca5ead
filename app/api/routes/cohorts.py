"""/cohorts: a metric's retention matrix by a cohort dimension (GET for URLs and dashboards, POST for a body)."""

from __future__ import annotations

from typing import Any, Self

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import Field, field_validator, model_validator

from app.api.caching import cache_key, cached_response
from app.api.deps import ContextDep, StateDep
from app.api.querying import OutputOptions, answer, documented, metric_query, query_params, wants_csv
from app.api.rendering import Shape, metric_header
from app.api.schemas import NOT_MODIFIED, CohortData, text_response
from app.compiler.query import QueryGrain, QueryOptions
from app.engine.cohorts import cohort_query, matrix
from app.engine.runner import MetricResult
from app.errors import InvalidQuery

router = APIRouter(prefix="/cohorts", tags=["cohorts"])

NOT_FOR_COHORTS = ("dimensions", "order", "limit", "offset", "compare", "fill")


class CohortParams(QueryOptions, OutputOptions):
    """A cohort matrix: the metric by ``cohort`` at ``grain``, ``periods`` periods from each cohort's start;
    ``start`` and ``end`` bound the cohorts (their starts), the other query options apply as to any query."""

    cohort: str = Field(
        description="The dimension holding each cohort's start, a date, e.g. signup_cohort (customer.signup_cohort)"
    )
    grain: QueryGrain | None = Field("month", description="The period of the matrix's columns (day or coarser)")
    periods: int = Field(12, ge=1, le=120, description="Columns: periods since each cohort's start (1-120)")

    @field_validator("cohort")
    @classmethod
    def _one_dimension(cls, value: str) -> str:
        name = value.strip()
        if not name or "," in name:
            raise InvalidQuery(
                f"cohort={value[:60]!r}: name one dimension holding each cohort's start, e.g. signup_cohort."
            )
        return name

    @model_validator(mode="after")
    def _cohort_only(self) -> Self:
        for name in NOT_FOR_COHORTS:
            if getattr(self, name) != type(self).model_fields[name].default:
                raise InvalidQuery(
                    f"{name} does not apply to a cohort matrix: its rows are the cohorts, its columns the periods."
                )
        return self


def cohort_body(params: CohortParams) -> Shape:
    def body(result: MetricResult) -> dict[str, Any]:
        return {
            **metric_header(result),
            "cohort": params.cohort,
            "grain": result.query.grain,
            "periods": params.periods,
            **matrix(result, params.cohort, params.periods),
        }

    return body


def _answer(name: str, params: CohortParams, request: Request, state: StateDep, ctx: ContextDep) -> Response:
    query = cohort_query(
        metric_query(state.settings, [name], params), params.cohort, params.periods, state.settings.max_rows
    )
    return answer(state, request, ctx, query, params.format, cohort_body(params))


@router.get(
    "/{name}",
    summary="A metric's retention matrix: one row per cohort, one column per period since its start",
    response_model=CohortData,
    responses={**text_response("text/csv", "The matrix as CSV (format=csv or Accept: text/csv)"), **NOT_MODIFIED},
    openapi_extra=documented(CohortParams, leave_out=NOT_FOR_COHORTS),
)
def cohorts(name: str, request: Request, state: StateDep, ctx: ContextDep) -> Response:
    return _answer(name, query_params(request, CohortParams), request, state, ctx)


@router.post(
    "/{name}",
    summary="The same, with the options in a JSON body",
    response_model=CohortData,
    responses={**text_response("text/csv", "The matrix as CSV (format=csv or Accept: text/csv)"), **NOT_MODIFIED},
)
def cohorts_post(name: str, body: CohortParams, request: Request, state: StateDep, ctx: ContextDep) -> Response:
    if state.cache.enabled:
        key = cache_key(state, "POST", f"/cohorts/{name}", body.model_dump_json(), wants_csv(request, body.format))
        entry = state.cache.get(key)
        if entry is not None:
            return cached_response(request.headers.get("if-none-match"), entry, ctx)
        ctx.cache_key = key
    return _answer(name, body, request, state, ctx)
