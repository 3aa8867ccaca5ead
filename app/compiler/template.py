"""The compiled form of one query shape: a tree with placeholders, its columns and what it reads."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp

from app.compiler.dialects import render
from app.definitions.project import MetricVersion, Project


@dataclass(frozen=True)
class OutputColumn:
    name: str
    type: str  # date | timestamp | string | number | boolean


@dataclass(frozen=True)
class Sql:
    """A tree the compiler built, its DuckDB text, and its text for another engine once first asked for."""

    tree: exp.Select
    duckdb_sql: str
    texts: dict[str, str] = field(default_factory=dict, compare=False, repr=False)  # dialect -> text

    def text(self, dialect: str) -> str:
        """The SQL ``dialect``'s engine runs, with its bound-parameter markers."""
        if dialect == "duckdb":
            return self.duckdb_sql
        if dialect not in self.texts:
            self.texts[dialect] = render(self.tree, dialect)
        return self.texts[dialect]


@dataclass(frozen=True)
class Template:
    """The query of one shape (a tree with placeholders and its texts), its columns and what it reads."""

    sql: Sql
    columns: tuple[OutputColumn, ...]
    metrics: tuple[MetricVersion, ...]
    base_metrics: tuple[MetricVersion, ...]
    tables: frozenset[str]  # schema.table of every table read
    project: Project  # the definitions it was compiled from
    data_end: Sql | None = None  # with a grain: one row, the instant the data of the tables read stops

    @property
    def tree(self) -> exp.Select:
        return self.sql.tree

    @property
    def duckdb_sql(self) -> str:
        return self.sql.duckdb_sql
