"""Response models: the OpenAPI document of every endpoint (and what the fuzzer checks responses against).

Routes that return plain data are validated and serialized through these models; routes that
return a ``Response`` themselves (data answers, lineage, impact) use them for the document only.
Fragments of the definition language (deprecation blocks, entity dimensions, columns and
relationships) use the models of ``app.definitions.spec``, so both stay one schema.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from app.definitions import spec


class ProblemDocument(BaseModel):
    """RFC 9457 problem details, the body of every error (a class may add fields, such as Gone's)."""

    type: str = Field(examples=["https://tapflow.dev/problems/invalid-query"])
    title: str = Field(examples=["Invalid query"])
    status: int = Field(examples=[400])
    detail: str = Field(examples=["Unknown dimension 'custmer_tier' for metric 'mrr'. Did you mean 'customer_tier'?"])
    instance: str = Field(examples=["/metrics/mrr"])
    errors: list[dict[str, Any]] = Field(default_factory=list)


# -- deprecations -------------------------------------------------------------------------------


class DeprecationNotice(BaseModel):
    """One deprecated object as a response describes it."""

    kind: str = Field(examples=["metric", "version", "entity", "table"])
    name: str
    deprecated_at: str = Field(examples=["2026-09-01"])
    sunset_date: str | None
    days_to_sunset: int | None
    replaced_by: str | None
    successor_url: str | None
    reason: str | None
    inherited_from: str | None
    migration_guide_url: str


class DeprecationSignal(DeprecationNotice):
    """The most urgent deprecation a response touches, and every one it touches."""

    objects: list[DeprecationNotice]


class DeclaredDeprecation(spec.Deprecation):
    """A metric's deprecation block, its own or inherited from what it reads (``inherited_from``)."""

    inherited_from: str | None = None


# -- metric data --------------------------------------------------------------------------------


class ResultColumn(BaseModel):
    name: str
    type: str = Field(examples=["date", "string", "number"])


class PartialPeriod(BaseModel):
    period: str
    partial: bool
    from_: str = Field(alias="from")
    until: str


class SkippedRollup(BaseModel):
    name: str
    reason: str = Field(examples=["dimension sales_region not in devices_daily"])


class RollupUse(BaseModel):
    """Which pre-aggregation answered (``used``), or why each that holds a metric of the query could not."""

    used: str | None = Field(examples=["devices_daily"])
    table: str | None
    skipped: list[SkippedRollup]


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
    partial_periods: list[PartialPeriod] = Field(
        description="Periods only partly inside start..end, labelled by their start, with the part covered"
    )
    deprecation: DeprecationSignal | None
    tz: str = Field("UTC", description="The time zone periods, start and end were read in (date columns unshifted)")
    week_start: str = Field("monday", description="The day weeks start on")
    fiscal_year_start: int = Field(1, description="The month fiscal years start in")
    data_status: dict[str, Any] | None = Field(
        None,
        description="Of the built or watched tables read: status ok, warn or error, and per table its notes "
        "(failing tests, a failed or slow last build, stale data, late rows) and last build",
    )
    pre_aggregation: RollupUse | None = Field(
        None, description="The rollup read in place of the metrics' table, or why none was; null when none holds them"
    )


class MetricData(BaseModel):
    """A metric's data: one row per period and dimension values."""

    metric: str = Field(examples=["mrr"])
    label: str = Field(examples=["MRR"])
    version: int = Field(examples=[1])
    grain: str | None = Field(examples=["month"])
    dimensions: list[str] = Field(examples=[["customer_tier"]])
    columns: list[ResultColumn]
    rows: list[dict[str, Any]] = Field(
        examples=[[{"period": "2026-10-01", "customer_tier": "enterprise", "mrr": 916570.5}]]
    )
    meta: DataMeta


class CohortData(BaseModel):
    """A retention matrix: one row per cohort (its start), ``p0``.. the metric k periods after it, ``pct_p0``..
    each as a percentage of ``p0`` (0 where the data has the period but not the cohort, null past the data)."""

    metric: str = Field(examples=["mrr"])
    label: str = Field(examples=["MRR"])
    version: int = Field(examples=[1])
    cohort: str = Field(examples=["signup_cohort"])
    grain: str = Field(examples=["month"])
    periods: int = Field(examples=[12])
    columns: list[ResultColumn]
    rows: list[dict[str, Any]] = Field(
        examples=[[{"cohort": "2024-11-01", "p0": 41200.0, "p1": 43110.5, "pct_p0": 100.0, "pct_p1": 104.6}]]
    )
    meta: DataMeta


class MetricRef(BaseModel):
    name: str
    label: str
    version: int


class MultiMetricData(BaseModel):
    metrics: list[MetricRef]
    grain: str | None
    dimensions: list[str]
    columns: list[ResultColumn]
    rows: list[dict[str, Any]]
    meta: DataMeta


# -- the catalog and a metric's definition ------------------------------------------------------


class CatalogEntry(BaseModel):
    name: str = Field(examples=["mrr"])
    label: str = Field(examples=["MRR"])
    description: str
    calculation_method: str = Field(examples=["sum"])
    version: int
    versions: list[int]
    owner: str | None
    verified: bool
    tags: list[str]
    grains: list[str]
    dimensions: list[str]
    qualified_dimensions: list[str] = Field(
        description="The same dimensions by entity-qualified names (customer.customer_tier), one spelling "
        "that every metric reaching that entity answers"
    )
    table: str | None
    entity: str | None
    depends_on: list[str]
    deprecation: DeclaredDeprecation | None
    coverage: DataCoverage | None = Field(
        None, description="With coverage=true: the first and last time of the metric's data, in the zone asked (tz)"
    )


class DataCoverage(BaseModel):
    tz: str = Field(examples=["Europe/Berlin"])
    first: str | None = Field(examples=["2024-01-01T01:00:00+01:00"])
    last: str | None


class MetricCatalog(BaseModel):
    metrics: list[CatalogEntry]
    count: int
    definitions_hash: str


class SourceLocation(BaseModel):
    file: str = Field(examples=["metrics/revenue.yml"])
    line: int


class ServedVersion(BaseModel):
    version: int
    sunset_date: str | None
    definition: dict[str, Any] = Field(description="The version's definition, as its YAML declares it")


class MetricUpstream(BaseModel):
    table: str | None
    entity: str | None
    metrics: list[str]


class MetricDownstream(BaseModel):
    metrics: list[str]


class MetricLineage(BaseModel):
    upstream: MetricUpstream
    downstream: MetricDownstream


class MetricDefinition(CatalogEntry):
    """A catalog entry with the definition, its source, served versions and lineage; ``deprecation``
    is the signal of everything the metric touches (as on its data responses)."""

    deprecation: DeprecationSignal | None  # type: ignore[assignment]
    definition: dict[str, Any] = Field(description="The metric's definition, as its YAML declares it")
    source: SourceLocation | None
    served_versions: list[ServedVersion]
    lineage: MetricLineage
    dialects: list[str]


# -- versions -----------------------------------------------------------------------------------


class FieldChange(BaseModel):
    field: str
    old: Any
    new: Any
    classification: str


class VersionDiff(BaseModel):
    classification: str | None = Field(examples=["breaking", "additive", "metadata"])
    reasons: list[str]
    fields: list[FieldChange]


class InPlaceEdit(BaseModel):
    """A definition served under one version number with two different hashes."""

    from_hash: str
    to_hash: str
    at: str
    classification: str | None
    reasons: list[str]


class VersionHistory(BaseModel):
    version: int
    hash: str
    current: bool
    sunset_date: str | None
    first_deployed: str | None
    last_deployed: str | None
    diff_to_previous: VersionDiff | None
    changed_in_place: list[InPlaceEdit]


class MetricVersions(BaseModel):
    metric: str
    current_version: int
    versions: list[VersionHistory]
    warnings: list[str]


# -- entities -----------------------------------------------------------------------------------


class EntityTable(BaseModel):
    """One table of an entity; ``row_count``, ``min`` and ``max`` come with coverage."""

    key: str = Field(examples=["daily"])
    name: str = Field(examples=["entity.entity_customers_daily"])
    grain: str | None
    timestamp: str | None
    description: str
    deprecation: spec.Deprecation | None
    row_count: int | None = None
    min: str | None = None
    max: str | None = None
    build: dict[str, Any] | None = Field(
        None,
        description="With coverage, for a built or watched table: how it is built, its last build, failing "
        "tests, freshness, late rows and grain coverage (the morning check's row of it)",
    )


class EntityInfo(BaseModel):
    name: str
    description: str
    primary_key: str
    tables: list[EntityTable]
    dimensions: list[spec.Dimension]
    columns: list[spec.Column]
    relationships: list[spec.Relationship]
    metrics: list[str]
    deprecation: spec.Deprecation | None


class EntityList(BaseModel):
    entities: list[EntityInfo]
    count: int


class EntityDetail(EntityInfo):
    deprecation_signal: DeprecationSignal | None


# -- the service --------------------------------------------------------------------------------


class CacheSize(BaseModel):
    entries: int
    bytes: int
    max_bytes: int


class Health(BaseModel):
    """With keys on and no valid key: ``status`` and ``auth`` only."""

    status: str
    auth: str
    version: str | None = None
    definitions_hash: str | None = None
    metrics: int | None = None
    entities: int | None = None
    database: str | None = Field(None, description="The DuckDB file of the service's state")
    warehouse: str | None = Field(
        None, description="Where metric queries run: duckdb (the file), or the PostgreSQL URL without its password"
    )
    state_database: str | None = Field(
        None, description="Where usage events and the registry live: duckdb (the file), or the PostgreSQL URL"
    )
    seeded: bool | None = None
    pid: int | None = None
    data_version: int | None = None
    warnings: list[str] | None = None
    unauthenticated_requests: int | None = Field(
        None, description="Requests refused for want of a valid key since start (never usage events)"
    )
    cache: CacheSize | None = None


class ReloadResult(BaseModel):
    definitions_hash: str
    metrics: int
    entities: int
    warnings: list[str]


TableName = Annotated[str, Field(max_length=200, pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")]


class TestBody(BaseModel):
    """The tables to act on (schema.table); empty: all of them."""

    model_config = ConfigDict(extra="forbid")

    tables: list[TableName] = Field([], max_length=500, description="Tables (schema.table); empty: all")


class BuildBody(TestBody):
    start: date | None = Field(None, description="Rebuild from this day")
    end: date | None = Field(None, description="Rebuild up to this day (exclusive)")
    full_refresh: bool = False


class BuildStatus(BaseModel):
    """A build: while it runs, batches done of total, rows and an ETA; when ended, each table's report."""

    model_config = ConfigDict(extra="allow")

    run_id: str
    status: str
    tables: list[Any]


class TestRun(BaseModel):
    results: list[dict[str, Any]]
    failed: int


class MorningCheck(BaseModel):
    """GET /status: every built table's last build, tests, freshness, late rows and coverage."""

    model_config = ConfigDict(extra="allow")

    checked_at: str
    status: str = Field(description="ok, warn or error: the worst of the tables")
    tables: list[dict[str, Any]]
    failed_tests: list[dict[str, Any]]
    late_rows: list[dict[str, Any]]


class Span(BaseModel):
    from_: str = Field(alias="from")
    until: str


class PreAggregationInfo(BaseModel):
    name: str
    table: str = Field(description="The table it is built into (its name changes with its definition)")
    declared_in: str = Field(examples=["entity:devices"])
    base_table: str
    metrics: list[str]
    dimensions: list[str]
    grain: str
    refresh: str | None = Field(description="Its own schedule (ISO 8601 duration), or null: with its base's builds")
    coverage: list[Span] = Field(description="Where it is current: built since its tables last changed there")
    base_coverage: Span | None = Field(description="What its base table's builds cover")
    rows: int | None
    bytes: int | None
    last_refresh: str | None
    hits: int = Field(description="Queries answered from it since the service started")
    misses: int = Field(description="Queries over its metrics it could not answer since the service started")
    notes: list[str]


class PreAggregationList(BaseModel):
    pre_aggregations: list[PreAggregationInfo]


class BuildList(BaseModel):
    builds: list[dict[str, Any]]
    running: str | None = Field(None, description="The run id of the build running now, if any")


class SeedResult(BaseModel):
    customers: int
    rows: int
    elapsed_s: float
    data_version: int


# -- OpenAPI helpers ----------------------------------------------------------------------------


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for error statuses, all answered with application/problem+json."""
    schema = ProblemDocument.model_json_schema()
    return {
        status: {
            "description": "A problem document (RFC 9457)",
            "content": {"application/problem+json": {"schema": schema}},
        }
        for status in statuses
    }


def text_response(media_type: str, description: str) -> dict[int | str, dict[str, Any]]:
    """An OpenAPI 200 answered as text of ``media_type`` (an alternative to JSON, or the only answer)."""
    return {200: {"description": description, "content": {media_type: {"schema": {"type": "string"}}}}}


NOT_MODIFIED: dict[int | str, dict[str, Any]] = {304: {"description": "Not modified"}}
ERRORS = problem_responses(400, 401, 403, 404, 405, 410, 413, 422, 500, 504)
