"""MetricQuery: what a caller asks for, normalized and checked for shape (not yet against definitions)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from app.definitions.spec import GRAINS
from app.errors import InvalidQuery
from app.settings import Settings

Compare = Literal["prior_period", "prior_year"]
Fill = Literal["none", "null", "zero"]
MAX_NAMES = 200


@dataclass(frozen=True)
class OrderItem:
    column: str
    descending: bool = False


@dataclass(frozen=True)
class MetricQuery:
    metrics: tuple[str, ...]
    grain: str | None = None
    dimensions: tuple[str, ...] = ()
    start: date | datetime | None = None
    end: date | datetime | None = None
    where: str | None = None
    order: tuple[OrderItem, ...] = ()
    limit: int = 10_000
    offset: int = 0
    compare: Compare | None = None
    fill: Fill = "none"
    version: int | None = None

    def __post_init__(self) -> None:
        if not self.metrics:
            raise InvalidQuery("No metric requested. Name at least one metric.")
        if self.grain is not None and self.grain not in GRAINS:
            raise InvalidQuery(f"Unknown grain '{self.grain}'. Allowed: {', '.join(GRAINS)}.")
        if len(set(self.metrics)) != len(self.metrics):
            raise InvalidQuery("A metric is listed twice; name each metric once.")
        if len(set(self.dimensions)) != len(self.dimensions):
            raise InvalidQuery("A dimension is listed twice; name each dimension once.")
        if self.start and self.end and _as_datetime(self.start) > _as_datetime(self.end):
            raise InvalidQuery(f"start ({self.start.isoformat()}) is after end ({self.end.isoformat()}).")
        if self.limit < 0 or self.offset < 0:
            raise InvalidQuery("limit and offset must not be negative.")
        if self.compare and not self.grain:
            raise InvalidQuery(f"compare={self.compare} needs a grain (e.g. grain=month).")
        if self.fill != "none" and not self.grain:
            raise InvalidQuery(f"fill={self.fill} needs a grain (e.g. grain=month).")
        if self.version is not None and len(self.metrics) != 1:
            raise InvalidQuery("version applies to a single metric; query one metric or drop version.")

    @property
    def end_exclusive(self) -> date | datetime | None:
        """The first instant after ``end`` (``end`` is inclusive; a date includes its whole day)."""
        if self.end is None:
            return None
        if isinstance(self.end, datetime):
            return None
        return self.end + timedelta(days=1)


def _as_datetime(value: date | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)


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
    if parsed.tzinfo is not None:
        from datetime import UTC

        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def parse_order(items: list[str]) -> tuple[OrderItem, ...]:
    out = []
    for raw in items:
        item = raw.strip()
        if not item:
            continue
        desc = item.startswith("-")
        out.append(OrderItem(item.lstrip("-+").strip(), desc))
    return tuple(out)


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


def split_list(value: str | None) -> list[str]:
    """Comma-separated URL values: ``"a, b,,c"`` -> ``["a", "b", "c"]``."""
    if not value:
        return []
    items = [v.strip() for v in value.split(",") if v.strip()]
    if len(items) > MAX_NAMES:
        raise InvalidQuery(f"Too many items ({len(items)}); at most {MAX_NAMES}.")
    return items


def build_query(
    settings: Settings,
    metrics: list[str],
    *,
    grain: str | None,
    dimensions: list[str],
    start: str | None,
    end: str | None,
    where: str | None,
    order: list[str],
    limit: int | None,
    offset: int,
    compare: str | None,
    fill: str,
    version: int | None,
) -> MetricQuery:
    if limit is not None and limit > settings.max_rows:
        raise InvalidQuery(f"limit={limit} is above the maximum of {settings.max_rows} rows; page with offset.")
    if len(metrics) > settings.max_metrics:
        raise InvalidQuery(
            f"{len(metrics)} metrics requested; at most {settings.max_metrics} per query "
            "(TAPFLOW_MAX_METRICS). Split the query."
        )
    if len(dimensions) > settings.max_dimensions:
        raise InvalidQuery(
            f"{len(dimensions)} dimensions requested; at most {settings.max_dimensions} per query "
            "(TAPFLOW_MAX_DIMENSIONS)."
        )
    if where and len(where) > settings.max_where_chars:
        raise InvalidQuery(
            f"where is {len(where)} characters long; at most {settings.max_where_chars} are accepted "
            "(TAPFLOW_MAX_WHERE_CHARS)."
        )
    if where and paren_depth(where) > settings.max_where_depth:
        raise InvalidQuery(
            f"where nests parentheses {paren_depth(where)} deep; at most {settings.max_where_depth} "
            "(TAPFLOW_MAX_WHERE_DEPTH)."
        )
    return MetricQuery(
        metrics=tuple(metrics),
        grain=(grain.strip().lower() or None) if grain else None,
        dimensions=tuple(d.strip() for d in dimensions if d.strip()),
        start=parse_time(start, "start") if start else None,
        end=parse_time(end, "end") if end else None,
        where=where if where and where.strip() else None,
        order=parse_order(order),
        limit=settings.default_limit if limit is None else limit,
        offset=offset,
        compare=compare,  # type: ignore[arg-type]
        fill=fill,  # type: ignore[arg-type]
        version=version,
    )
