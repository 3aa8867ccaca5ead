"""What every step of compiling one query shares: definitions, query, bounds, key names and the CTEs."""

from __future__ import annotations

from sqlglot import exp

from app.compiler import build as b
from app.compiler.periods import DAYS_IN, Calendar, TimeBounds, interval
from app.compiler.query import MetricQuery
from app.compiler.shape import kind_of
from app.definitions.project import MetricVersion, Project, Rollup


class QueryContext:
    """Complete when constructed; each step appends its CTE with ``add``."""

    def __init__(
        self,
        project: Project,
        query: MetricQuery,
        *,
        shift: exp.Interval | None = None,
        rollup: Rollup | None = None,
        bounds: TimeBounds | None = None,
    ):
        self.project = project
        self.q = query
        self.rollup = rollup  # the pre-aggregation the scans read in place of the metrics' table
        self.calendar = Calendar.of(query)
        self.bounds = bounds or TimeBounds(kind_of(query.start), kind_of(query.end), calendar=self.calendar)
        self.dims = [f"__d{i}" for i in range(len(query.dimensions))]  # dimensions' names inside the SQL
        self.ctes: list[tuple[str, exp.Expr]] = []
        self.reads: set[str] = set()  # the tables the scans read (``schema.table``), joined ones included
        # the prior side of compare_to=same_days: each row keyed by the period it is the prior of
        self.shift = shift
        self.prefix = "prior_" if shift is not None else ""

    def as_prior(self) -> QueryContext:
        """The context of the prior side of ``compare_to=same_days`` (sharing this one's CTEs)."""
        prior = QueryContext(
            self.project, self.q, shift=self.comparison_shift(), rollup=self.rollup, bounds=self.bounds
        )
        prior.ctes, prior.reads = self.ctes, self.reads
        return prior

    def comparison_shift(self) -> exp.Interval:
        """How far back the prior of a period starts: one period, or a year (52 weeks at week grain)."""
        grain = self.q.grain
        assert grain is not None, "compare needs a grain (checked by the query model)"
        if self.q.compare == "prior_year":
            return interval(52, "week") if grain == "week" else interval(1, "year")
        return self.calendar.step(grain)

    def period_of(self, ts: exp.Expr) -> exp.Expr:
        """The period key of a row: the period holding ``ts``, or on the prior side the period it is the prior of."""
        grain = self.q.grain
        assert grain is not None
        if self.shift is None:
            return self.calendar.key(ts, grain)
        return self.calendar.moved(self.calendar.key(ts, grain), self.shift.copy(), grain, back=False)

    def coarsen(self, key: exp.Expr, step: str, grain: str) -> exp.Expr:
        """The ``grain`` period key of a ``step`` period key (a window's per-period rows)."""
        if grain == step:
            return key
        wall = self.calendar.local(key) if step == "hour" else key  # an hour in a zone is keyed in UTC
        return self.calendar.period(wall, grain)

    def add(self, name: str, body: exp.Expr) -> str:
        self.ctes.append((name, body))
        return name

    def key_names(self) -> list[str]:
        return (["period"] if self.q.grain else []) + self.dims

    def keys(self, table: str | None = None) -> list[exp.Column]:
        return [b.col(k, table) for k in self.key_names()]

    def compare_days(self) -> int:
        """How far before ``start`` a comparison reaches (generously; the compare step trims).
        With ``compare_to=same_days`` the prior side reads its own rows, so the answer's side reads none."""
        if self.q.compare_to == "same_days" and self.shift is None:
            return 0
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
