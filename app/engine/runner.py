"""Answer a metric query: compile, execute, and shape the rows (no HTTP here)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import duckdb

from app.compiler.matching import Coverage
from app.compiler.periods import Calendar, partial_periods
from app.compiler.query import MetricQuery
from app.compiler.sql import CompiledQuery, OutputColumn, compile_query
from app.definitions.project import Project
from app.engine.building.rollups import coverage
from app.engine.warehouse import DuckDBWarehouse, Warehouse, as_warehouse


@dataclass
class MetricResult:
    query: MetricQuery
    compiled: CompiledQuery
    columns: tuple[OutputColumn, ...]
    rows: list[dict[str, Any]]
    truncated: bool
    elapsed_ms: float
    sql: str
    warnings: list[str] = field(default_factory=list)
    # periods only partly inside the range or the data (DESIGN 4), as in ``meta.partial_periods``
    partial_periods: list[dict[str, object]] = field(default_factory=list)
    # the builds, tests and freshness of the tables read (DESIGN 11), as in ``meta.data_status``
    data_status: dict[str, Any] | None = None


def run_metric_query(
    source: Warehouse | duckdb.DuckDBPyConnection,
    project: Project,
    query: MetricQuery,
    *,
    timeout_s: float,
    rollups: Mapping[str, Coverage] | None = None,
) -> MetricResult:
    """Compile (reading a rollup where one answers exactly; ``rollups``: what each holds, read now when not
    given) and run a query on ``source`` (a warehouse, or a DuckDB connection)."""
    warehouse = as_warehouse(source)
    if rollups is None:  # rollups are built in the DuckDB file: another warehouse has none
        rollups = coverage(warehouse.con, project) if isinstance(warehouse, DuckDBWarehouse) else {}
    return run_compiled(warehouse, compile_query(project, query, rollups), query, timeout_s=timeout_s)


def tables_read(compiled: CompiledQuery) -> set[str]:
    """``schema.table`` of every physical table the query reads."""
    return set(compiled.template.tables)


def run_compiled(
    warehouse: Warehouse,
    compiled: CompiledQuery,
    query: MetricQuery,
    *,
    timeout_s: float,
    data_version: int | None = None,
) -> MetricResult:
    """Run a compiled query; with a grain, also find where the data ends (remembered per ``data_version``
    when given) to list the partial periods."""
    sql = compiled.bound_sql(warehouse.dialect)
    result = warehouse.select(sql, timeout_s=timeout_s, params=compiled.params)
    rows = result.rows
    truncated = query.limit is not None and len(rows) > query.limit
    rows = rows[: query.limit]
    shaped = _shaped([c.name for c in compiled.columns], rows)
    warnings = list(compiled.warnings)
    partial: list[dict[str, object]] = []
    if query.grain:
        end = _data_end(warehouse, compiled, timeout_s=timeout_s, data_version=data_version)
        calendar = Calendar.of(query)
        partial = [dict(p) for p in _partial_periods(query.grain, query.start, query.end, end, calendar)]
        if query.grain == "hour" and calendar.zone is not None:  # told like the rows: with the offset there
            zone = ZoneInfo(calendar.zone)
            partial = [{k: _told(v, zone) if k != "partial" else v for k, v in p.items()} for p in partial]
        if partial and query.compare and query.compare_to == "whole_period":
            listed = ", ".join(f"{p['period']} ({p['from']} to {p['until']})" for p in partial)
            warnings.append(
                f"Partial periods compared with their whole prior period: {listed}. "
                "Add compare_to=same_days to compare the same days of the prior period."
            )
    return MetricResult(query, compiled, compiled.columns, shaped, truncated, result.elapsed_ms, sql, warnings, partial)


def _data_end(
    warehouse: Warehouse, compiled: CompiledQuery, *, timeout_s: float, data_version: int | None
) -> datetime | None:
    if compiled.template.data_end is None:
        return None
    sql = compiled.template.data_end.text(warehouse.dialect)
    known: dict[tuple[str, int], datetime | None] = compiled.project.cache.setdefault("data_end", {})
    key = (sql, data_version) if data_version is not None else None
    if key is not None and key in known:
        return known[key]
    value = warehouse.select(sql, timeout_s=timeout_s).rows[0][0]
    end = value if isinstance(value, datetime) else None
    if key is not None:
        if len(known) >= 4096:  # old data versions' entries: start over
            known.clear()
        known[key] = end
    return end


@lru_cache(maxsize=1024)
def _partial_periods(
    grain: str, start: date | None, end: date | None, data_end: datetime | None, calendar: Calendar
) -> tuple[tuple[tuple[str, object], ...], ...]:
    """``partial_periods``, remembered: a dashboard's queries ask the same few (a twentieth of the time)."""
    return tuple(tuple(p.items()) for p in partial_periods(grain, start, end, data_end, calendar))


def _told(wall: object, zone: ZoneInfo) -> object:
    """A wall time's ISO text with its offset in ``zone`` (the first of two when the clocks go back)."""
    return datetime.fromisoformat(str(wall)).replace(tzinfo=zone).isoformat()


def _shaped(names: list[str], rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Rows as JSON data by column name, converted column by column: a column whose cells JSON takes as they are
    is left alone, a column of dates is written by one method per cell (a third of a row-by-row pass's time)."""
    if not rows:
        return []
    if len(rows[0]) != len(names):
        raise ValueError(f"{len(rows[0])} values a row for {len(names)} columns")
    columns: list[Sequence[Any]] = []
    for column in zip(*rows, strict=True):
        kinds = set(map(type, column))
        if kinds <= _AS_THEY_ARE:
            columns.append(column)
        elif kinds <= _FLOATS:  # NaN and the infinities are None (x - x is NaN for them: no call a cell)
            columns.append([v if v is None or v - v == 0 else None for v in column])
        elif kinds <= _DATES:
            columns.append([v if v is None else v.isoformat() for v in column])
        else:
            columns.append(list(map(_jsonable, column)))
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


_AS_THEY_ARE = frozenset({type(None), bool, int, str})  # cells JSON takes as they are (tested by exact type: fast)
_DATES = frozenset({type(None), date, datetime})
_FLOATS = frozenset({type(None), float})


def _jsonable(value: Any) -> Any:
    """A database value as JSON data (the same value feeds CSV): every column type a warehouse may have.

    >>> from decimal import Decimal
    >>> _jsonable(Decimal("1234.56")), _jsonable(float("nan")), _jsonable(timedelta(days=1, seconds=90))
    (1234.56, None, 'P1DT90S')
    >>> _jsonable([Decimal("1.5"), {"k": b"\\x01"}])
    [1.5, {'k': '01'}]
    """
    kind = type(value)
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is date or kind is datetime:  # the usual cells first, by their exact type (most cells of an answer)
        return value.isoformat()
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):  # a whole one is an integer (PostgreSQL's SUM of BIGINT is NUMERIC)
        exponent = value.as_tuple().exponent
        return int(value) if isinstance(exponent, int) and exponent >= 0 else _jsonable(float(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return f"P{value.days}DT{value.seconds + value.microseconds / 1e6:g}S"
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return str(value)  # UUID, and anything else with a text form
