"""The definition language: pydantic models of metric and entity YAML (DESIGN 3)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

Grain = Literal["hour", "day", "week", "month", "quarter", "year"]
GRAINS: tuple[str, ...] = ("hour", "day", "week", "month", "quarter", "year")
CalculationMethod = Literal["count", "count_distinct", "sum", "average", "min", "max", "median", "derived"]
Operator = Literal["=", "!=", "<>", "<", "<=", ">", ">=", "in", "not in", "like", "ilike", "is", "is not"]
NAME_PATTERN = r"^[a-z][a-z0-9_]*$"


class Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class Deprecation(Spec):
    deprecated_at: date
    sunset_date: date | None = None
    replaced_by: str | None = None
    reason: str | None = None
    migration_guide: str | None = Field(None, description="Markdown, or a path to a .md file")

    def guide_path(self, base: Path) -> Path | None:
        """The .md file the guide names, relative to the project folder; None when the guide is text."""
        guide = (self.migration_guide or "").strip()
        if not guide.endswith(".md") or "\n" in guide:
            return None
        return (base / guide).resolve()


FilterValue = (
    str | int | float | bool | None | tuple[str | int | float | bool, ...]
)  # a YAML list is a tuple (hashable)


class Filter(Spec):
    field: str
    operator: Operator
    value: FilterValue = None


class NonAdditiveDimension(Spec):
    name: str
    window_choice: Literal["max", "min"] = "max"
    window_groupings: tuple[str, ...] = ()


class Window(Spec):
    count: int = Field(ge=1, le=1000)
    period: Grain


class Meta(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")
    owner: str | None = None
    verified: bool = False
    sla_hours: float | None = None
    tags: tuple[str, ...] = ()


class MetricBody(Spec):
    """The fields that define a metric's values; previous versions override some of them."""

    label: str | None = None
    description: str = ""
    model: str | None = None
    entity: str | None = None
    calculation_method: CalculationMethod | None = None
    expression: str | int | None = None
    timestamp: str | None = None
    time_grains: tuple[Grain, ...] | None = None
    dimensions: tuple[str, ...] | None = None
    filters: tuple[Filter, ...] | None = None
    non_additive_dimension: NonAdditiveDimension | None = None
    window: Window | None = None

    @field_validator("expression", mode="before")
    @classmethod
    def _expression_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v


class PreviousVersion(MetricBody):
    version: int = Field(ge=1)
    sunset_date: date | None = None


DimensionType = Literal["string", "number", "integer", "boolean", "date", "timestamp"]


class Dimension(Spec):
    name: str = Field(pattern=NAME_PATTERN)
    type: DimensionType = "string"
    description: str = ""
    accepted_values: tuple[str | int | float | bool, ...] | None = None
    expression: str | None = Field(
        None,
        description="A computed dimension: SQL over the entity's columns, such as date_trunc('month', signup_date) "
        "or a CASE of bands (the definitions' allow-list: no subqueries, no table functions)",
    )


class Column(Spec):
    name: str = Field(pattern=NAME_PATTERN)
    type: DimensionType = "number"
    description: str = ""
    semi_additive: bool = Field(
        False,
        description="A balance read from snapshots (such as MRR): metrics over it take the latest "
        "snapshot in each period unless they declare their own non_additive_dimension.",
    )


class Relationship(Spec):
    name: str = Field(pattern=NAME_PATTERN)
    entity: str
    type: Literal["many_to_one", "one_to_one", "one_to_many"]
    foreign_key: str
    description: str = ""


TableGrain = Literal["hour", "day", "week", "month", "quarter", "year", "event", "none"]
BatchGrain = Literal["hour", "day", "month"]
RollupGrain = Literal["hour", "day", "week", "month"]


MAX_DURATION_S = 3650 * 86400
UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "hours": 3600, "d": 86400, "day": 86400, "days": 86400}


def _duration(v: Any) -> Any:
    """``26h``, ``2 days``, ``30m`` (or a number of seconds) as a timedelta."""
    if isinstance(v, str):
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*", v)
        if m is None or m.group(2) not in UNITS:
            raise ValueError(f"{v!r} is not a duration; write e.g. 30m, 26h or 2 days")
        v = float(m.group(1)) * UNITS[m.group(2)]
    if isinstance(v, int | float) and not isinstance(v, bool):
        if not 0 < v <= MAX_DURATION_S:
            raise ValueError(f"a duration is more than 0 and at most 3650 days, not {v:g} seconds")
        return timedelta(seconds=v)
    return v


Duration = Annotated[timedelta, BeforeValidator(_duration)]


class LateRows(Spec):
    """Where late rows are counted: a source table, its event time and the time each row arrived."""

    table: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$")
    time: str = Field(description="The source's event time (which batch a row belongs to)")
    loaded_at: str = Field(description="When the row arrived in the warehouse")


class Incremental(Spec):
    """Rebuild by time range: the batches since the last run, plus ``lookback`` days for late rows."""

    by: str = Field(description="The time column the batches cut")
    batch: BatchGrain = "day"
    lookback_days: int = Field(0, ge=0, le=366, description="Batches re-read before the last run, for late rows")
    backfill: BatchGrain | None = Field(
        None,
        description="Cut a run at this coarser grain's boundaries (a first build or a backfill in a few "
        "transactions); a refresh still starts at its batch: `batch: day, backfill: month` re-reads 3 days, "
        "and builds two years in 24 batches",
    )
    late: LateRows | None = Field(None, description="Count rows arriving after the lookback has passed them")


class Scd2(Spec):
    """History derived from a change log or successive states of another table."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    from_: str = Field(alias="from", description="A table of the same entity by key, or schema.table")
    unique_key: str
    updated_at: str | None = Field(None, description="The change log's time column")
    check_columns: tuple[str, ...] | None = Field(
        None, description="Without updated_at: columns whose change opens a row"
    )


class Snapshot(Spec):
    """One row per key per period from a history table: the state valid at the period's end."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    from_: str = Field(alias="from", description="The history table, by key (history) or schema.table")
    grain: BatchGrain


class Build(Spec):
    """How a table is built: ``sql`` (one SELECT), ``scd2`` or ``snapshot`` (optionally with per-period
    aggregates in ``sql``), incremental or not."""

    sql: str | None = None
    scd2: Scd2 | None = None
    snapshot: Snapshot | None = None
    incremental: Incremental | None = None
    start: date | None = Field(None, description="The first period a full build covers")


class AcceptedValues(Spec):
    column: str
    values: tuple[str | int | float | bool, ...] = Field(min_length=1)


class ForeignKey(Spec):
    column: str
    to: str = Field(description="The entity whose primary key the column references (its current table)")


class RowCountChange(Spec):
    max_ratio: float = Field(
        3.0,
        gt=1,
        description="Flag a build whose rows are over this multiple (or under its inverse) of the trailing median",
    )


class DataTest(Spec):
    """One test of a table's rows: exactly one of the fields."""

    unique: tuple[str, ...] | None = Field(None, min_length=1)
    not_null: tuple[str, ...] | None = Field(None, min_length=1)
    accepted_values: AcceptedValues | None = None
    relationships: ForeignKey | None = None
    expression: str | None = Field(None, description="A condition every row must meet")
    row_count_change: RowCountChange | None = None

    @field_validator("unique", "not_null", mode="before")
    @classmethod
    def _one_column(cls, v: Any) -> Any:
        return (v,) if isinstance(v, str) else v

    @model_validator(mode="after")
    def _exactly_one(self) -> DataTest:
        if len(self.model_fields_set) != 1:
            raise ValueError(
                "a test is exactly one of unique, not_null, accepted_values, relationships, expression, "
                "row_count_change"
            )
        return self

    @property
    def kind(self) -> str:
        return next(iter(self.model_fields_set))


class Freshness(Spec):
    warn_after: Duration | None = None
    error_after: Duration | None = None


class Refresh(Spec):
    every: Duration = Field(description="Build this table in the service this often (e.g. 1h)")


class PreAggregation(Spec):
    """A rollup (DESIGN 13): metrics aggregated by some dimensions at a grain, built from their table by the
    builds and used for every query it answers exactly."""

    name: str = Field(pattern=NAME_PATTERN, max_length=48)
    metrics: tuple[str, ...] = Field(
        (), description="Metrics it holds (a derived metric through its parts); on a metric, that metric by default"
    )
    dimensions: tuple[str, ...] = ()
    grain: RollupGrain = Field(description="hour, day, week or month: coarser grains are answered from it")
    refresh: Refresh | None = Field(None, description="Build it in the service this often; else with its base")


class Metric(MetricBody):
    name: str = Field(pattern=NAME_PATTERN, max_length=64)
    calculation_method: CalculationMethod
    version: int = Field(1, ge=1)
    previous_versions: tuple[PreviousVersion, ...] = ()
    deprecation: Deprecation | None = None
    meta: Meta = Meta()
    config: dict[str, Any] = Field(default_factory=dict)
    assertions: tuple[str, ...] = Field(
        (),
        description="Conditions over metric names that every period must meet, checked after builds and on "
        "`tapflow test`: 'mrr >= 0', 'arr = 12 * mrr'",
    )
    pre_aggregations: tuple[PreAggregation, ...] = ()


class Table(Spec):
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")
    grain: TableGrain | None = None
    timestamp: str | None = None
    valid_to: str | None = Field(
        None,
        description="Declares an SCD type 2 history of the entity: each row is valid from `timestamp` "
        "(inclusive) to this column (exclusive; NULL while current). A table keyed `history` with "
        "valid_from and valid_to columns is one without saying so.",
    )
    description: str = ""
    columns: tuple[str, ...] | None = Field(
        None, description="This table's columns, where they differ from the entity's (used without a database)"
    )
    deprecation: Deprecation | None = None
    build: Build | None = None
    tests: tuple[DataTest, ...] = ()
    freshness: Freshness | None = None
    refresh: Refresh | None = None


class Entity(Spec):
    name: str = Field(pattern=NAME_PATTERN, max_length=64)
    description: str = ""
    primary_key: str
    tables: dict[str, Table]
    dimensions: tuple[Dimension, ...] = ()
    columns: tuple[Column, ...] = ()
    relationships: tuple[Relationship, ...] = ()
    deprecation: Deprecation | None = None
    meta: Meta = Meta()
    pre_aggregations: tuple[PreAggregation, ...] = ()

    @field_validator("tables", mode="before")
    @classmethod
    def _table_shorthand(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {k: {"name": t} if isinstance(t, str) else t for k, t in v.items()}
        return v


class DefinitionFile(Spec):
    """One YAML file: ``version: 2`` and lists of metrics and/or entities."""

    version: Literal[2] = 2
    metrics: list[Any] = Field(default_factory=list)
    entities: list[Any] = Field(default_factory=list)
