"""Response models for the OpenAPI document (and the fuzzer that checks responses against it)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Problem(BaseModel):
    """RFC 9457 problem details, the body of every error."""

    type: str = Field(examples=["https://tapflow.dev/problems/invalid-query"])
    title: str = Field(examples=["Invalid query"])
    status: int = Field(examples=[400])
    detail: str = Field(examples=["Unknown dimension 'custmer_tier' for metric 'mrr'. Did you mean 'customer_tier'?"])
    instance: str = Field(examples=["/metrics/mrr"])
    errors: list[dict[str, Any]] = Field(default_factory=list)


class Column(BaseModel):
    name: str
    type: str = Field(examples=["date", "string", "number"])


class DataMeta(BaseModel):
    row_count: int
    truncated: bool
    limit: int
    offset: int
    elapsed_ms: float
    cached: bool
    sql: str
    params: dict[str, Any]
    warnings: list[str]
    deprecation: dict[str, Any] | None


class MetricData(BaseModel):
    """A metric's data: one row per period and dimension values."""

    metric: str = Field(examples=["mrr"])
    label: str = Field(examples=["MRR"])
    version: int = Field(examples=[1])
    grain: str | None = Field(examples=["month"])
    dimensions: list[str] = Field(examples=[["customer_tier"]])
    columns: list[Column]
    rows: list[dict[str, Any]] = Field(
        examples=[[{"period": "2026-10-01", "customer_tier": "enterprise", "mrr": 916570.5}]]
    )
    meta: DataMeta


class MultiMetricData(BaseModel):
    metrics: list[dict[str, Any]]
    grain: str | None
    dimensions: list[str]
    columns: list[Column]
    rows: list[dict[str, Any]]
    meta: DataMeta


class Health(BaseModel):
    status: str
    version: str
    definitions_hash: str
    metrics: int
    entities: int
    database: str
    seeded: bool
    auth: str
    pid: int
    data_version: int
    warnings: list[str]


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for error statuses, all answered with application/problem+json."""
    schema = Problem.model_json_schema()
    return {
        status: {
            "description": "A problem document (RFC 9457)",
            "content": {"application/problem+json": {"schema": schema}},
        }
        for status in statuses
    }


ERRORS = problem_responses(400, 401, 403, 404, 410, 413, 422, 500, 504)
