"""The compiled form of one query shape: a tree with placeholders, its columns and what it reads."""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from app.definitions.project import MetricVersion, Project


@dataclass(frozen=True)
class OutputColumn:
    name: str
    type: str  # date | timestamp | string | number | boolean


@dataclass(frozen=True)
class Template:
    """A tree with placeholders, and its DuckDB text."""

    tree: exp.Select
    columns: tuple[OutputColumn, ...]
    metrics: tuple[MetricVersion, ...]
    base_metrics: tuple[MetricVersion, ...]
    duckdb_sql: str
    tables: frozenset[str]  # schema.table of every table read
    project: Project  # the definitions it was compiled from
    data_end_sql: str | None = None  # with a grain: one row, the instant the data of the tables read stops
