"""Answer a metric query: compile, execute, and shape the rows (no HTTP here)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import duckdb

from app.compiler.query import MetricQuery
from app.compiler.sql import CompiledQuery, OutputColumn, compile_query
from app.definitions.project import Project
from app.engine.executor import run_select


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


def run_metric_query(
    con: duckdb.DuckDBPyConnection, project: Project, query: MetricQuery, *, timeout_s: float
) -> MetricResult:
    return run_compiled(con, compile_query(project, query), query, timeout_s=timeout_s)


def tables_read(compiled: CompiledQuery) -> set[str]:
    """``schema.table`` of every physical table the query reads."""
    return set(compiled.template.tables)


def run_compiled(
    con: duckdb.DuckDBPyConnection, compiled: CompiledQuery, query: MetricQuery, *, timeout_s: float
) -> MetricResult:
    sql = compiled.duckdb_sql
    result = run_select(con, sql, timeout_s=timeout_s, params=compiled.params)
    rows = result.rows
    truncated = query.limit is not None and len(rows) > query.limit
    rows = rows[: query.limit]
    names = [c.name for c in compiled.columns]
    shaped = [dict(zip(names, map(_jsonable, row), strict=True)) for row in rows]
    return MetricResult(query, compiled, compiled.columns, shaped, truncated, result.elapsed_ms, sql)


def _jsonable(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value
