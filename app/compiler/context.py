"""What every step of compiling one query shares: definitions, query, bounds, key names and the CTEs."""

from __future__ import annotations

from sqlglot import exp

from app.compiler import build as b
from app.compiler.periods import DAYS_IN, TimeBounds, interval
from app.compiler.query import MetricQuery
from app.compiler.shape import kind_of
from app.definitions.project import MetricVersion, Project


class QueryContext:
    """Complete when constructed; each step appends its CTE with ``add``."""

    def __init__(self, project: Project, query: MetricQuery):
        self.project = project
        self.q = query
        self.bounds = TimeBounds(kind_of(query.start), kind_of(query.end))
        self.dims = [f"__d{i}" for i in range(len(query.dimensions))]  # dimensions' names inside the SQL
        self.ctes: list[tuple[str, exp.Expr]] = []

    def add(self, name: str, body: exp.Expr) -> str:
        self.ctes.append((name, body))
        return name

    def key_names(self) -> list[str]:
        return (["period"] if self.q.grain else []) + self.dims

    def keys(self, table: str | None = None) -> list[exp.Column]:
        return [b.col(k, table) for k in self.key_names()]

    def compare_days(self) -> int:
        """How far before ``start`` a comparison reaches (generously; the compare step trims)."""
        if self.q.compare == "prior_period" and self.q.grain:
            return DAYS_IN[self.q.grain]
        if self.q.compare == "prior_year":
            return DAYS_IN["year"]
        return 0

    def earliest(self, days: int) -> exp.Expr:
        """The start of the first period asked for, moved ``days`` earlier (whole periods; later steps trim)."""
        start = self.bounds.start_of_period(self.q.grain)
        return exp.Sub(this=start, expression=interval(days, "day")) if days else start

    def base_metrics(self, metrics: list[MetricVersion]) -> dict[str, MetricVersion]:
        """The metrics read from tables, by name: the metrics themselves or what derived ones are made of."""
        out: dict[str, MetricVersion] = {}
        todo = list(metrics)
        while todo:
            m = todo.pop(0)
            if m.table is not None:
                out.setdefault(m.name, m)
            else:
                todo[:0] = [self.project.metric(parent) for parent in m.depends_on]
        return out
