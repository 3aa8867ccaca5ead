"""MetricQuery: the one definition of a metric query's parameters, their validation and documentation.

The GET parameters, the POST body, the CLI options and the OpenAPI document are all derived from
these models: a new query parameter is a field here and its use in the compiler, nowhere else.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from app.definitions.spec import GRAINS
from app.errors import InvalidQuery

if TYPE_CHECKING:  # the CLI's --help builds its options from this module: pydantic-settings is not needed
    from app.settings import Settings

Compare = Literal["prior_period", "prior_year"]
CompareTo = Literal["whole_period", "same_days"]
Fill = Literal["none", "null", "zero"]
PreAggregations = Literal["auto", "off"]
QueryGrain = Literal["hour", "day", "week", "month", "quarter", "year", "fiscal_quarter", "fiscal_year"]
QUERY_GRAINS: tuple[str, ...] = (*GRAINS, "fiscal_quarter", "fiscal_year")
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


@functools.cache
def time_zones() -> frozenset[str]:
    """The IANA time zone names known here (the tzdata package where the system has none): Area/Location
    names, not the system's own files (localtime, posixrules, posix/..., right/...)."""
    import zoneinfo

    names = zoneinfo.available_timezones()
    return frozenset(n for n in names if "/" in n and not n.startswith(("posix/", "right/", "SystemV/")))


def check_time_zone(value: str, name: str = "tz") -> str:
    """``value`` as a known IANA time zone name, else a clear 400 with the closest names.

    >>> check_time_zone("Europe/Berlin")
    'Europe/Berlin'
    """
    text = value.strip()
    if text.upper() in ("UTC", "Z"):
        return "UTC"
    if text not in time_zones():
        from app.definitions.diagnostics import did_you_mean

        close = did_you_mean(text[:64], time_zones(), allowed=False)
        raise InvalidQuery(
            f"{name}={text[:64]!r} is not a known time zone; write an IANA name such as Europe/Berlin or "
            f"America/Sao_Paulo. {close}".rstrip()
        )
    return text


def split_names(value: Any) -> Any:
    """Names as a list: ``"a, b,,c"`` and ``["a,b", "c"]`` both become ``["a", "b", "c"]``.

    >>> split_names("customer_tier, sales_region")
    ['customer_tier', 'sales_region']
    """
    if value is None:
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        return value
    out: list[Any] = []
    for item in items:
        out += [v.strip() for v in item.split(",") if v.strip()] if isinstance(item, str) else [item]
    return out


def parse_time(value: str, name: str) -> date | datetime:
    """An ISO date or timestamp (UTC); anything else is a clear 400.

    >>> parse_time("2025-12-31", "end")
    datetime.date(2025, 12, 31)
    """
    text = value.strip()
    if len(text) > 40:
        raise InvalidQuery(f"{name} is too long to be a date; write an ISO date such as 2025-01-31.")
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidQuery(
            f"{name}={value!r} is not an ISO date or timestamp; write e.g. 2025-01-31 or 2025-01-31T08:00:00."
        ) from None
    return _naive_utc(parsed, name)


def _naive_utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        return value
    try:
        return value.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:
        raise InvalidQuery(
            f"{name}={value.isoformat()} is out of range; write a date between years 1 and 9999."
        ) from None


def paren_depth(text: str) -> int:
    """The deepest nesting of parentheses in ``text``."""
    depth = deepest = 0
    for ch in text:
        if ch == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif ch == ")":
            depth -= 1
    return deepest


Names = Annotated[tuple[str, ...], BeforeValidator(split_names)]


class OrderItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    column: str
    descending: bool = False

    @classmethod
    def parse(cls, text: str) -> OrderItem:
        """``-mrr`` -> mrr descending; ``period`` or ``+period`` -> ascending."""
        return cls(column=text.lstrip("-+").strip(), descending=text.startswith("-"))


class QueryOptions(BaseModel):
    """Everything a metric query says except which metrics: grain, dimensions, bounds, filters, paging."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    grain: QueryGrain | None = Field(
        None,
        description=f"{', '.join(QUERY_GRAINS)}; omit for one total (fiscal grains follow fiscal_year_start)",
    )
    dimensions: Names = Field(
        (), description="Dimensions to group by (comma-separated), e.g. customer_tier,customer.sales_region"
    )
    start: date | datetime | None = Field(None, description="Inclusive ISO date or timestamp (in tz)")
    end: date | datetime | None = Field(
        None, description="Inclusive ISO date or timestamp; a date includes its whole day"
    )
    where: str | None = Field(
        None, description="Boolean SQL over the metric's dimensions, e.g. customer_tier IN ('growth','enterprise')"
    )
    order: Names = Field((), description="Columns to order by (comma-separated), '-' for descending, e.g. -mrr,period")
    limit: int | None = Field(None, ge=0, description="Rows to return (default TAPFLOW_DEFAULT_LIMIT)")
    offset: int = Field(0, ge=0, description="Rows to skip")
    compare: Compare | None = Field(
        None, description="prior_period or prior_year: adds <metric>_prior, _change, _change_pct"
    )
    compare_to: CompareTo = Field(
        "whole_period",
        description="whole_period, or same_days: a partial period (cut by start or end, or past the end of the "
        "data) is compared with the same days of its prior",
    )
    fill: Fill = Field("none", description="none, null or zero: produce missing periods with null or zero")
    tz: str | None = Field(
        None,
        description="IANA time zone periods, start and end are read in, e.g. Europe/Berlin (default "
        "TAPFLOW_TIME_ZONE, UTC); DST-correct; date columns are never shifted",
    )
    week_start: Weekday | None = Field(
        None, description="The day weeks start on: monday (ISO) to sunday (default TAPFLOW_WEEK_START)"
    )
    fiscal_year_start: int | None = Field(
        None,
        ge=1,
        le=12,
        description="The month (1-12) fiscal years start in, for fiscal_quarter and fiscal_year (default "
        "TAPFLOW_FISCAL_YEAR_START, 1); FY2027 is the one ending in 2027",
    )
    version: int | None = Field(None, ge=1, description="Answer with this served version of the metric")
    pre_aggregations: PreAggregations = Field(
        "auto",
        description="auto: answer from the smallest rollup that answers exactly (meta.pre_aggregation says which, "
        "or why none); off: read the metrics' tables",
    )

    @field_validator("grain", mode="before")
    @classmethod
    def _grain(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip().lower() or None
            if value is not None and value not in QUERY_GRAINS:
                raise InvalidQuery(f"Unknown grain '{value[:40]}'. Allowed: {', '.join(QUERY_GRAINS)}.")
        return value

    @field_validator("start", "end", mode="before")
    @classmethod
    def _time(cls, value: Any, info: ValidationInfo) -> date | datetime | None:
        name = str(info.field_name)
        if isinstance(value, str):
            return parse_time(value, name) if value.strip() else None
        if isinstance(value, datetime):
            return _naive_utc(value, name)
        if value is None or isinstance(value, date):
            return value
        raise InvalidQuery(f'{name} must be an ISO date or timestamp written as text, e.g. "2025-01-31".')

    @field_validator("tz", mode="before")
    @classmethod
    def _tz(cls, value: Any) -> Any:
        if isinstance(value, str):
            return check_time_zone(value) if value.strip() else None
        return value

    @field_validator("week_start", mode="before")
    @classmethod
    def _week_start(cls, value: Any) -> Any:
        return value.strip().lower() or None if isinstance(value, str) else value

    @field_validator("where", mode="before")
    @classmethod
    def _where(cls, value: Any) -> Any:
        return value if not isinstance(value, str) or value.strip() else None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.start and self.end and _as_datetime(self.start) > _as_datetime(self.end):
            raise InvalidQuery(f"start ({self.start.isoformat()}) is after end ({self.end.isoformat()}).")
        if self.compare and not self.grain:
            raise InvalidQuery(f"compare={self.compare} needs a grain (e.g. grain=month).")
        if self.compare_to != "whole_period" and not self.compare:
            raise InvalidQuery(f"compare_to={self.compare_to} needs compare (e.g. compare=prior_year).")
        if self.fill != "none" and not self.grain:
            raise InvalidQuery(f"fill={self.fill} needs a grain (e.g. grain=month).")
        return self

    @property
    def order_items(self) -> tuple[OrderItem, ...]:
        return tuple(OrderItem.parse(item) for item in self.order)


class MetricQuery(QueryOptions):
    """A query of one or more metrics sharing grain, dimensions and filters (DESIGN 4)."""

    model_config = ConfigDict(
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
        }
    )

    metrics: Names = Field(description="Metric names (comma-separated where typed)")

    @model_validator(mode="after")
    def _metrics(self) -> Self:
        if not self.metrics:
            raise InvalidQuery("No metric requested. Name at least one metric.")
        if self.version is not None and len(self.metrics) != 1:
            raise InvalidQuery("version applies to a single metric; query one metric or drop version.")
        return self

    @classmethod
    def of(cls, metrics: tuple[str, ...] | list[str], options: QueryOptions) -> MetricQuery:
        """The query of ``metrics`` with ``options`` (the fields of a subclass, such as format, are dropped)."""
        fields = {name: getattr(options, name) for name in QueryOptions.model_fields}
        return cls(metrics=tuple(metrics), **fields)

    def check_unique(self) -> None:
        """Each metric and each dimension named once (checked after the limits on how many)."""
        if len(set(self.metrics)) != len(self.metrics):
            raise InvalidQuery("A metric is listed twice; name each metric once.")
        if len(set(self.dimensions)) != len(self.dimensions):
            raise InvalidQuery("A dimension is listed twice; name each dimension once.")
        columns = [item.lstrip("-+").strip() for item in self.order]
        if len(set(columns)) != len(columns):
            raise InvalidQuery("order names a column twice; name each column once.")

    def within(self, settings: Settings) -> MetricQuery:
        """This query checked against the service's limits, with the default limit filled in."""
        if self.limit is not None and self.limit > settings.max_rows:
            raise InvalidQuery(
                f"limit={self.limit} is above the maximum of {settings.max_rows} rows; page with offset."
            )
        if len(self.metrics) > settings.max_metrics:
            raise InvalidQuery(
                f"{len(self.metrics)} metrics requested; at most {settings.max_metrics} per query "
                "(TAPFLOW_MAX_METRICS). Split the query."
            )
        if len(self.dimensions) > settings.max_dimensions:
            raise InvalidQuery(
                f"{len(self.dimensions)} dimensions requested; at most {settings.max_dimensions} per query "
                "(TAPFLOW_MAX_DIMENSIONS)."
            )
        if self.where and len(self.where) > settings.max_where_chars:
            raise InvalidQuery(
                f"where is {len(self.where)} characters long; at most {settings.max_where_chars} are accepted "
                "(TAPFLOW_MAX_WHERE_CHARS)."
            )
        periods = spine_size(self.grain, self.start, self.end) if self.fill != "none" else 0
        if periods > settings.max_rows:
            raise InvalidQuery(
                f"fill={self.fill} would produce {periods:,} {self.grain} periods from {self.start} to {self.end}, "
                f"more than the {settings.max_rows:,} rows an answer may hold (TAPFLOW_MAX_ROWS); narrow start/end "
                "or ask for a coarser grain."
            )
        if self.where and paren_depth(self.where) > settings.max_where_depth:
            raise InvalidQuery(
                f"where nests parentheses {paren_depth(self.where)} deep; at most {settings.max_where_depth} "
                "(TAPFLOW_MAX_WHERE_DEPTH)."
            )
        defaults = {  # the service's zone and week start where the query names none (None: UTC, monday)
            "limit": self.limit if self.limit is not None else settings.default_limit,
            "tz": self.tz or (settings.time_zone if settings.time_zone != "UTC" else None),
            "week_start": self.week_start or (settings.week_start if settings.week_start != "monday" else None),
            "fiscal_year_start": self.fiscal_year_start
            or (settings.fiscal_year_start if settings.fiscal_year_start != 1 else None),
        }
        changed = {k: v for k, v in defaults.items() if getattr(self, k) != v}
        return self.model_copy(update=changed) if changed else self


def spine_size(grain: str | None, start: date | datetime | None, end: date | datetime | None) -> int:
    """How many ``grain`` periods a closed range spans (0 for an open one: the data bounds it).

    >>> spine_size("day", date(1, 1, 1), date(9999, 12, 31))
    3652059
    >>> spine_size("month", date(2024, 1, 15), date(2024, 3, 1))
    3
    """
    if grain is None or start is None or end is None:
        return 0
    lo, hi = _as_datetime(start), _as_datetime(end)
    if grain == "hour":
        return int((hi.replace(minute=0, second=0, microsecond=0) - lo.replace(minute=0, second=0, microsecond=0))
                   .total_seconds() // 3600) + 1  # fmt: skip
    days = (hi.date() - lo.date()).days
    if grain == "day":
        return days + 1
    if grain == "week":
        return (days + lo.weekday() - hi.weekday()) // 7 + 1
    step = {"month": 1, "quarter": 3, "year": 12, "fiscal_quarter": 3, "fiscal_year": 12}[grain]
    return (hi.year * 12 + hi.month - 1) // step - (lo.year * 12 + lo.month - 1) // step + 1


def _as_datetime(value: date | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)
