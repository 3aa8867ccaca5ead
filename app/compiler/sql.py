"""Compiling a metric query: ``compile_query`` and the CompiledQuery it returns (SQL for any dialect).

Pure: no database, no HTTP, no string formatting. Compiled shapes are cached per project; the
planning itself is in plan.py (checks and CTEs), scans.py and steps.py.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, replace
from typing import Any

from sqlglot import exp

from app.compiler.dialects import DIALECTS, render
from app.compiler.hints import where_warnings
from app.compiler.matching import Coverage, choose
from app.compiler.plan import allowed_where, base_metrics, plan_template
from app.compiler.query import MetricQuery
from app.compiler.shape import ShapeKey, shape_of
from app.compiler.template import OutputColumn, Template
from app.definitions.diagnostics import did_you_mean
from app.definitions.project import MetricVersion, Project
from app.errors import InvalidQuery
from app.memo import Memo

__all__ = ["DIALECTS", "CompiledQuery", "OutputColumn", "Template", "compile_query"]


@dataclass(frozen=True)
class CompiledQuery:
    template: Template
    params: dict[str, Any]
    limit: int | None  # None: every row
    cached: bool = False
    warnings: tuple[str, ...] = ()  # about this request's values (a where value no row can match)
    pre_aggregation: dict[str, Any] | None = None  # the rollup read, or why each candidate was not

    @property
    def tree(self) -> exp.Select:
        return self.template.tree

    @property
    def columns(self) -> tuple[OutputColumn, ...]:
        return self.template.columns

    @property
    def metrics(self) -> tuple[MetricVersion, ...]:
        return self.template.metrics

    @property
    def base_metrics(self) -> tuple[MetricVersion, ...]:
        return self.template.base_metrics

    @property
    def project(self) -> Project:
        return self.template.project

    @property
    def duckdb_sql(self) -> str:
        """The SQL DuckDB runs, with ``$name`` placeholders for ``params``."""
        return self.template.duckdb_sql

    def sql(self, dialect: str = "duckdb", *, pretty: bool = False) -> str:
        """Readable SQL for ``dialect`` with the values written in as literals."""
        if dialect not in DIALECTS:
            raise InvalidQuery(f"Unknown dialect '{dialect}'. {did_you_mean(dialect, DIALECTS)}")
        return render(self.tree.transform(self._inline), dialect, pretty=pretty, bound=False)

    def bound_sql(self, dialect: str) -> str:
        """The SQL ``dialect``'s engine runs, with its markers for ``params`` (DuckDB's is ``duckdb_sql``)."""
        return self.template.sql.text(dialect)

    def _inline(self, node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Placeholder) and node.this in self.params:
            return exp.convert(self.params[node.this])
        if isinstance(node, exp.In) and node.expressions:  # each value once: the padding's repeats (shape.py) go
            values = {v.sql(): v for v in (item.transform(self._inline) for item in node.expressions)}
            written = node.copy()
            written.set("this", node.this.transform(self._inline))
            written.set("expressions", list(values.values()))
            return written
        return node


CACHE_SIZE = 2048


def compile_query(
    project: Project, query: MetricQuery, coverage: Mapping[str, Coverage] | None = None
) -> CompiledQuery:
    """Compile a metric query. A query compiled before over the same ``coverage`` (the same object) is
    answered from memory; otherwise its ``where`` is vetted, and a query whose shape was compiled before
    reuses that SQL and binds its own values, a new shape is compiled in full. With ``coverage`` (what
    each rollup holds now), the query reads the smallest rollup that answers it exactly.

    The LIMIT is ``query.limit + 1`` so that a truncated answer can be told apart.
    """
    known: Memo[MetricQuery, tuple[Mapping[str, Coverage] | None, CompiledQuery]] | None
    known = project.cache.get("queries")
    if known is None:
        known = project.cache.setdefault("queries", Memo(KNOWN_QUERIES))
    again = known.get(query)
    if again is not None and again[0] is coverage:  # the same query over the same rollups: nothing to redo
        return again[1]
    compiled = _compile(project, query, coverage)
    if len(compiled.params) + len(compiled.warnings) <= KNOWN_VALUES:
        known.put(query, (coverage, replace(compiled, cached=True)))
    return compiled


# Queries remembered whole, per project: a dashboard's, which have a few values each. A query with more (a long IN
# list, a warning per value) is not kept: each entry holds its template too (about 70 KB), so what is kept stays
# under about 40 MB, beside the compiled shapes, whatever is asked.
KNOWN_QUERIES = 512
KNOWN_VALUES = 32


def _compile(project: Project, query: MetricQuery, coverage: Mapping[str, Coverage] | None) -> CompiledQuery:
    cache: OrderedDict[ShapeKey, Template] = project.cache.setdefault("compiled", OrderedDict())
    shape = shape_of(query, allowed_where(project, query))
    choice = choose(project, query, base_metrics(project, query), shape.where, coverage)
    key = (*shape.key, choice.rollup.physical if choice.rollup else None)
    template = cache.get(key)
    cached = template is not None
    if template is not None:
        with suppress(KeyError):  # another thread may have just let it go
            cache.move_to_end(key)
    else:
        template = plan_template(project, query, shape, choice.rollup)
        cache[key] = template
        if len(cache) > CACHE_SIZE:
            cache.popitem(last=False)
    warnings = where_warnings(project, list(template.base_metrics), shape.where, shape.params)
    return CompiledQuery(
        template, shape.params, query.limit, cached=cached, warnings=tuple(warnings), pre_aggregation=choice.meta()
    )
