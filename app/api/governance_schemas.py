"""Response models of the governance endpoints: usage, the migration dashboard, lineage and impact.

Like ``schemas.py`` (the query, catalog and service models), they are the OpenAPI document of
their endpoints and what the fuzzer checks responses against.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from app.api.schemas import DeprecationNotice, FieldChange

# -- usage --------------------------------------------------------------------------------------


class UsageRow(BaseModel):
    key: str | date | None = Field(description="The metric, the consumer or the day (null: requests of no metric)")
    requests: int
    errors: int
    rows: int
    avg_elapsed_ms: float | None
    consumers: int
    last_seen: str | None


class UsageSummary(BaseModel):
    group_by: str
    rows: list[UsageRow]
    count: int


# -- the migration dashboard --------------------------------------------------------------------


class Dependent(BaseModel):
    kind: str
    name: str


class ConsumerActivity(BaseModel):
    consumer: str
    requests_7d: int
    requests_30d: int
    requests_total: int
    last_seen: str | None
    metrics: list[str]


class DashboardEntry(DeprecationNotice):
    dependents: list[Dependent]
    consumers: list[ConsumerActivity]
    requests_7d: int
    requests_30d: int
    last_seen: str | None
    past_sunset: bool


class DeprecationDetail(DashboardEntry):
    migration_guide: str = Field(description="Markdown")


class DeprecationList(BaseModel):
    deprecations: list[DashboardEntry]
    count: int
    as_of: str


# -- lineage ------------------------------------------------------------------------------------


class LineageNode(BaseModel):
    id: str = Field(examples=["metric:mrr", "table:legacy.customer_facts"])
    kind: str
    name: str
    deprecated: bool


class LineageEdge(BaseModel):
    source: str
    target: str
    kind: str = Field(examples=["part_of", "reads", "joins", "models", "derives"])


class LineageGraph(BaseModel):
    nodes: list[LineageNode]
    edges: list[LineageEdge]


class NodeLineage(BaseModel):
    node: LineageNode
    upstream: list[LineageNode]
    downstream: list[LineageNode]
    nodes: list[LineageNode]
    edges: list[LineageEdge]


# -- impact -------------------------------------------------------------------------------------


class DefinitionProblem(BaseModel):
    file: str
    line: int
    key: str
    message: str


class MetricConsumer(BaseModel):
    consumer: str
    requests: int
    last_seen: str
    versions: list[int]


class ValueDiffRow(BaseModel):
    period: str
    before: float | None
    after: float | None
    delta: float | None
    relative_delta: float | None


class ValueDiff(BaseModel):
    """Old and new definitions on the real data; ``note`` says why it was not computed."""

    grain: str | None
    periods: int | None = None
    periods_changed: int | None = None
    rows: list[ValueDiffRow]
    note: str | None = None


class ImpactChange(BaseModel):
    kind: str
    name: str
    status: str = Field(examples=["added", "removed", "renamed", "changed"])
    classification: str | None
    reasons: list[str]
    renamed_to: str | None
    fields: list[FieldChange]
    old_version: int | None
    declared_version: int | None
    required_version: int | None
    version_ok: bool
    caused_by: list[str]
    dependents: list[str]
    consumers: list[MetricConsumer]
    value_diff: ValueDiff | None


class ImpactReport(BaseModel):
    verdict: str = Field(examples=["pass", "fail"])
    reasons: list[str]
    summary: dict[str, int]
    changes: list[ImpactChange]
    problems: list[DefinitionProblem]
    ignored_files: list[str]
    notes: list[str]
    partial: bool = Field(False, description="The time budget ran out before every change was analysed")
    markdown: str
