"""(Project, MetricQuery) -> a sqlglot tree. Pure: no database, no HTTP, no string formatting.

Shape of the SQL (each piece a CTE):

    scan_N      one pass over a metric table per group of metrics sharing table, filters,
                snapshot rule and window: period, dimensions, one aggregate per metric
    combined    scans stacked with UNION ALL and collapsed per (period, dimensions), so a period
                missing from one metric is kept with NULL for it (no FULL OUTER JOIN chains)
    result      derived metrics computed over the combined columns
    (compare)   result joined to itself one period (or year) back
    (fill)      a spine of periods x the dimension combinations present, LEFT JOINed to result
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from app.compiler import build as b
from app.compiler.filters import resolve_where
from app.compiler.joins import JoinPlan
from app.compiler.query import MetricQuery
from app.compiler.shape import Shape, kind_of, placeholder, shape_of
from app.definitions.expressions import derived_sql, parse_expression
from app.definitions.paths import PathError, resolve_path
from app.definitions.problems import did_you_mean
from app.definitions.project import MetricVersion, Project, grain_rank
from app.definitions.spec import Filter
from app.errors import InvalidQuery

AGGREGATES = {
    "sum": exp.Sum,
    "count": exp.Count,
    "average": exp.Avg,
    "min": exp.Min,
    "max": exp.Max,
    "median": exp.Median,
}
WINDOW_COMBINE = {"sum": exp.Sum, "count": exp.Sum, "min": exp.Min, "max": exp.Max}
JSON_TYPES = {
    "VARCHAR": "string",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "INTEGER": "number",
    "BIGINT": "number",
    "DOUBLE": "number",
    "FLOAT": "number",
    "SMALLINT": "number",
    "TINYINT": "number",
    "HUGEINT": "number",
}
OPERATORS = {
    "=": exp.EQ,
    "!=": exp.NEQ,
    "<>": exp.NEQ,
    "<": exp.LT,
    "<=": exp.LTE,
    ">": exp.GT,
    ">=": exp.GTE,
    "like": exp.Like,
    "ilike": exp.ILike,
}
DIALECTS = ("duckdb", "snowflake", "bigquery", "postgres", "spark", "trino", "databricks", "redshift")


@dataclass(frozen=True)
class OutputColumn:
    name: str
    type: str  # date | timestamp | string | number | boolean


@dataclass(frozen=True)
class Template:
    """The compiled form of one query shape: a tree with placeholders, and its DuckDB text."""

    tree: exp.Select
    columns: tuple[OutputColumn, ...]
    metrics: tuple[MetricVersion, ...]
    base_metrics: tuple[MetricVersion, ...]
    duckdb_sql: str
    tables: frozenset[str]  # schema.table of every table read
    project: Project  # the definitions it was compiled from


@dataclass(frozen=True)
class CompiledQuery:
    template: Template
    params: dict[str, Any]
    limit: int | None  # None: every row
    cached: bool = False

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
        tree = self.tree.transform(self._inline)
        if dialect == "bigquery":  # BigQuery's WEEK starts on Sunday; ours is ISO (Monday)
            tree = tree.transform(_iso_week_for_bigquery)
        return tree.sql(dialect=dialect, pretty=pretty)

    def _inline(self, node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Placeholder) and node.this in self.params:
            return exp.convert(self.params[node.this])
        return node


CACHE_SIZE = 2048


def compile_query(project: Project, query: MetricQuery) -> CompiledQuery:
    """Compile a metric query. A query whose shape was compiled before reuses that SQL and binds
    its own values; a new shape is compiled (and its ``where`` vetted) in full.

    The LIMIT is ``query.limit + 1`` so that a truncated answer can be told apart.
    """
    cache: OrderedDict = project.cache.setdefault("compiled", OrderedDict())
    shape = shape_of(query, None)  # parsed, not vetted: only a shape vetted before can match
    template = cache.get(shape.key)
    if template is not None:
        cache.move_to_end(shape.key)
        return CompiledQuery(template, shape.params, query.limit, cached=True)
    template, shape = _Compiler(project, query).compile()
    cache[shape.key] = template
    if len(cache) > CACHE_SIZE:
        cache.popitem(last=False)
    return CompiledQuery(template, shape.params, query.limit)


def _interval(count: int, unit: str) -> exp.Interval:
    return exp.Interval(this=exp.Literal.string(str(count)), unit=exp.var(unit.upper()))


def _period(ts: exp.Expression, grain: str) -> exp.Expression:
    return b.cast(exp.DateTrunc(this=ts, unit=exp.var(grain.upper())), "TIMESTAMP" if grain == "hour" else "DATE")


def _iso_week_for_bigquery(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.DateTrunc) and node.unit and node.unit.name.upper() == "WEEK":
        return exp.DateTrunc(this=node.this, unit=exp.var("ISOWEEK"))
    return node


def _null_safe_eq(a: exp.Expression, b: exp.Expression) -> exp.Expression:
    return exp.NullSafeEQ(this=a, expression=b)


DAYS_IN = {"hour": 1, "day": 1, "week": 7, "month": 31, "quarter": 92, "year": 366}


@dataclass
class _Scan:
    metrics: list[MetricVersion]


@dataclass
class _Bounds:
    """SQL for the query's time bounds, built over the ``$start``/``$end`` parameters."""

    start_kind: str | None  # "date" | "timestamp" | None
    end_kind: str | None

    def start(self) -> exp.Expression:
        return b.cast(placeholder("start"), self.start_kind.upper())

    def end(self) -> exp.Expression:
        return b.cast(placeholder("end"), self.end_kind.upper())

    def start_of_period(self, grain: str | None) -> exp.Expression:
        """The start of the period holding ``start`` (the start itself without a grain)."""
        if grain is None:
            return self.start()
        return _period(b.cast(placeholder("start"), "TIMESTAMP"), grain)

    def end_of_period(self, grain: str) -> exp.Expression:
        return _period(b.cast(placeholder("end"), "TIMESTAMP"), grain)

    def end_condition(self, ts: exp.Expression) -> exp.Expression:
        """``end`` is inclusive; a date includes its whole day."""
        if self.end_kind == "date":
            return exp.LT(this=ts, expression=exp.Add(this=self.end(), expression=_interval(1, "day")))
        return exp.LTE(this=ts, expression=self.end())


class _Compiler:
    def __init__(self, project: Project, query: MetricQuery):
        self.project = project
        self.q = query
        self.ctes: list[tuple[str, exp.Expression]] = []
        self.bounds = _Bounds(kind_of(query.start), kind_of(query.end))

    # -- planning ----------------------------------------------------------------------------
    def compile(self) -> tuple[Template, Shape]:
        q = self.q
        q.check_unique()
        requested = [self.project.metric(name, q.version) for name in q.metrics]
        for m in requested:
            self._check_metric(m)
        self.dims = [f"__d{i}" for i in range(len(q.dimensions))]
        shape = shape_of(q, self._allowed_where(requested))
        base: dict[str, MetricVersion] = {}
        for m in requested:
            self._collect_base(m, base)
        scans = self._group(list(base.values()))
        scan_names = [self._scan(i, scan, shape.where) for i, scan in enumerate(scans)]
        combined = self._combine(scan_names, scans)
        result = self._result(combined, requested)
        final_name, columns = result, self._columns(requested)
        if q.compare:
            final_name, columns = self._compare(result, requested, columns)
        if q.fill != "none":
            final_name = self._fill(final_name, [c.name for c in columns if c.type == "number"])
        tree = self._final(final_name, columns)
        tables = frozenset(f"{t.db}.{t.name}".lower() for t in tree.find_all(exp.Table) if t.db)
        template = Template(
            tree, tuple(columns), tuple(requested), tuple(base.values()), tree.sql("duckdb"), tables, self.project
        )
        return template, shape

    def _check_metric(self, m: MetricVersion) -> None:
        q = self.q
        if q.grain:
            if not m.grains:
                raise InvalidQuery(f"Metric '{m.name}' has no timestamp, so it has no time grains; drop grain.")
            if q.grain not in m.grains:
                raise InvalidQuery(
                    f"Metric '{m.name}' is not available at grain '{q.grain}'. Allowed grains: {', '.join(m.grains)}."
                )
        if (q.start or q.end) and not m.grains:
            raise InvalidQuery(f"Metric '{m.name}' has no timestamp, so start and end do not apply to it.")
        for dim in q.dimensions:
            if dim in m.dimensions:
                continue
            if "." in dim and m.table is not None:
                try:
                    resolve_path(self.project, m.table, dim)
                except PathError as err:
                    raise InvalidQuery(f"Dimension '{dim}' for metric '{m.name}': {err}") from None
            raise InvalidQuery(
                f"Unknown dimension '{dim}' for metric '{m.name}'. {did_you_mean(dim, m.dimensions)}"
                + ("" if m.dimensions else " This metric has no dimensions.")
            )

    def _allowed_where(self, requested: list[MetricVersion]) -> set[str]:
        allowed = set(requested[0].dimensions)
        for m in requested[1:]:
            allowed &= set(m.dimensions)
        return allowed

    def _collect_base(self, m: MetricVersion, out: dict[str, MetricVersion]) -> None:
        if m.table is not None:
            out.setdefault(m.name, m)
            return
        for parent in m.depends_on:
            self._collect_base(self.project.metric(parent), out)

    def _group(self, base: list[MetricVersion]) -> list[_Scan]:
        """Metrics over the same table with the same filters, snapshot rule and window share a scan."""
        scans: dict[tuple, _Scan] = {}
        for m in base:
            s = m.spec
            key = (m.table.entity, m.table.key, s.timestamp, s.filters, s.non_additive_dimension, s.window)
            scans.setdefault(key, _Scan([])).metrics.append(m)
        return list(scans.values())

    # -- one scan ----------------------------------------------------------------------------
    def _scan(self, index: int, scan: _Scan, where: exp.Expression | None) -> str:
        first = scan.metrics[0]
        spec = first.spec
        plan = JoinPlan(self.project, first.table)
        grain = self.q.grain

        def ts() -> exp.Expression:
            return plan.column(spec.timestamp)

        conditions = self._conditions(plan, ts, scan, where)
        dims = [plan.column(d) for d in self.q.dimensions]
        values = [(m, self._value(plan, m)) for m in scan.metrics]
        name = f"scan_{index}"
        if spec.window is not None:
            return self._window_scan(name, plan, ts, conditions, dims, values, spec.window)
        nad = spec.non_additive_dimension
        keys = ([_period(ts(), grain)] if grain else []) + dims
        key_names = (["period"] if grain else []) + self.dims
        if nad is None:
            select = b.select(
                [b.alias(k, n) for k, n in zip(keys, key_names, strict=True)]
                + [b.alias(self._aggregate(m, v), m.name) for m, v in values],
                b.table(plan.table.name, "t"),
                joins=plan.joins.values(),
                where=conditions,
                group_by=[k.copy() for k in keys],
            )
            self.ctes.append((name, select))
            return name

        # semi-additive: only the rows of the latest (or earliest) snapshot within each period
        groupings = [plan.column(g) for g in nad.window_groupings]
        rows = b.select(
            [b.alias(k, n) for k, n in zip(keys, key_names, strict=True)]
            + [b.alias(g, f"__g{i}") for i, g in enumerate(groupings)]
            + [b.alias(plan.column(nad.name), "__snap")]
            + [b.alias(v, f"__v_{m.name}") for m, v in values],
            b.table(plan.table.name, "t"),
            joins=plan.joins.values(),
            where=conditions,
        )
        self.ctes.append((f"{name}_rows", rows))
        part = (["period"] if grain else []) + [f"__g{i}" for i in range(len(groupings))]
        pick = exp.Max if nad.window_choice == "max" else exp.Min
        last = b.select(
            [b.col(p) for p in part] + [b.alias(pick(this=b.col("__snap")), "__snap")],
            b.table(f"{name}_rows"),
            group_by=[b.col(p) for p in part],
        )
        self.ctes.append((f"{name}_last", last))
        on = b.and_(
            [b.eq(b.col(p, "r"), b.col(p, "l")) for p in part] + [b.eq(b.col("__snap", "r"), b.col("__snap", "l"))]
        )
        select = b.select(
            [b.alias(b.col(k, "r"), k) for k in key_names]
            + [b.alias(self._aggregate(m, b.col(f"__v_{m.name}", "r")), m.name) for m, _ in values],
            b.table(f"{name}_rows", "r"),
            joins=[b.join(b.table(f"{name}_last", "l"), on)],
            group_by=[b.col(k, "r") for k in key_names],
        )
        self.ctes.append((name, select))
        return name

    def _window_scan(self, name, plan, ts, conditions, dims, values, window) -> str:
        """Rolling window over per-period aggregates (never raw rows joined to a date spine)."""
        grain = self.q.grain
        step = grain if grain and grain_rank(grain) <= grain_rank(window.period) else window.period
        per = b.select(
            [b.alias(_period(ts(), step), "__p")]
            + [b.alias(d, n) for d, n in zip(dims, self.dims, strict=True)]
            + [b.alias(self._aggregate(m, v), m.name) for m, v in values],
            b.table(plan.table.name, "t"),
            joins=plan.joins.values(),
            where=conditions,
            group_by=[_period(ts(), step)] + [d.copy() for d in dims],
        )
        self.ctes.append((f"{name}_per", per))
        rolled_values = []
        for m, _ in values:
            frame = exp.WindowSpec(
                kind="RANGE",
                start=exp.Sub(this=_interval(window.count, window.period), expression=_interval(1, step)),
                start_side="PRECEDING",
                end="CURRENT ROW",
            )
            rolled = exp.Window(
                this=WINDOW_COMBINE[m.spec.calculation_method](this=b.col(m.name)),
                partition_by=[b.col(d) for d in self.dims] or None,
                order=exp.Order(expressions=[exp.Ordered(this=b.col("__p"))]),
                spec=frame,
            )
            rolled_values.append(b.alias(rolled, m.name))
        self.ctes.append(
            (
                f"{name}_rolled",
                b.select([b.col("__p")] + [b.col(d) for d in self.dims] + rolled_values, b.table(f"{name}_per")),
            )
        )
        keys = ([b.alias(_period(b.col("__p"), grain), "period")] if grain else []) + [b.col(d) for d in self.dims]
        # trim the rows only the window needed; keep those a comparison still reads
        where = [exp.GTE(this=b.col("__p"), expression=self._earliest(self._compare_days()))] if self.q.start else []
        qualify = None
        if grain != step:  # the window's value at the last sub-period of each coarser period
            part = ([_period(b.col("__p"), grain)] if grain else []) + [b.col(d) for d in self.dims]
            qualify = b.eq(b.col("__p"), exp.Window(this=exp.Max(this=b.col("__p")), partition_by=part or None))
        select = b.select(
            keys + [b.col(m.name) for m, _ in values], b.table(f"{name}_rolled"), where=where, qualify=qualify
        )
        self.ctes.append((name, select))
        return name

    def _conditions(self, plan: JoinPlan, ts, scan: _Scan, where) -> list[exp.Expression]:
        q = self.q
        spec = scan.metrics[0].spec
        out: list[exp.Expression] = []
        if q.start is not None:
            days = self._compare_days()
            if spec.window is not None:
                days += DAYS_IN[spec.window.period] * spec.window.count
            out.append(exp.GTE(this=ts(), expression=self._earliest(days)))
        if q.end is not None:
            out.append(self.bounds.end_condition(ts()))
        for flt in spec.filters or ():
            out.append(_filter(plan, flt))
        if where is not None:
            out.append(exp.Paren(this=resolve_where(where, plan.column)))
        return out

    def _compare_days(self) -> int:
        """How far before ``start`` a comparison reaches (generously; the compare step trims)."""
        if self.q.compare == "prior_period":
            return DAYS_IN[self.q.grain]
        if self.q.compare == "prior_year":
            return DAYS_IN["year"]
        return 0

    def _earliest(self, days: int) -> exp.Expression:
        """The start of the first period asked for, moved ``days`` earlier (whole periods; later steps trim)."""
        start = self.bounds.start_of_period(self.q.grain)
        return exp.Sub(this=start, expression=_interval(days, "day")) if days else start

    def _value(self, plan: JoinPlan, m: MetricVersion) -> exp.Expression:
        """The per-row expression of a metric, columns qualified by the table alias."""
        raw = m.spec.expression
        if raw is None or str(raw).strip() == "*":
            return exp.Star()
        return parse_expression(str(raw)).transform(
            lambda n: plan.column(n.name) if isinstance(n, exp.Column) else n, copy=False
        )

    def _aggregate(self, m: MetricVersion, value: exp.Expression) -> exp.Expression:
        method = m.spec.calculation_method
        if method == "count_distinct":
            return exp.Count(this=exp.Distinct(expressions=[value]))
        if method == "count" and isinstance(value, exp.Star):
            return exp.Count(this=exp.Star())
        return AGGREGATES[method](this=value)

    # -- assembling ----------------------------------------------------------------------------
    def _key_names(self) -> list[str]:
        return (["period"] if self.q.grain else []) + self.dims

    def _keys(self, table: str | None = None) -> list[exp.Column]:
        return [b.col(k, table) for k in self._key_names()]

    def _combine(self, scan_names: list[str], scans: list[_Scan]) -> str:
        metric_names = [m.name for s in scans for m in s.metrics]
        if len(scan_names) == 1:
            return scan_names[0]
        parts = []
        for name, scan in zip(scan_names, scans, strict=True):
            own = {m.name for m in scan.metrics}
            parts.append(
                b.select(
                    self._keys()
                    + [b.alias(b.col(n) if n in own else b.cast(exp.Null(), "DOUBLE"), n) for n in metric_names],
                    b.table(name),
                )
            )
        stacked: exp.Expression = parts[0]
        for part in parts[1:]:
            stacked = exp.Union(this=stacked, expression=part, distinct=False)
        self.ctes.append(("stacked", stacked))
        combined = b.select(
            self._keys() + [b.alias(exp.Max(this=b.col(n)), n) for n in metric_names],
            b.table("stacked"),
            group_by=self._keys(),
        )
        self.ctes.append(("combined", combined))
        return "combined"

    def _result(self, source: str, requested: list[MetricVersion]) -> str:
        select = b.select(
            self._keys() + [b.alias(b.cast(self._metric_expr(m), "DOUBLE"), m.name) for m in requested],
            b.table(source),
        )
        self.ctes.append(("result", select))
        return "result"

    def _metric_expr(self, m: MetricVersion) -> exp.Expression:
        if m.table is not None:
            return b.col(m.name)
        tree = parse_expression(derived_sql(str(m.spec.expression)))

        def swap(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Column):
                return exp.Paren(this=self._metric_expr(self.project.metric(node.name)))
            if isinstance(node, exp.Div):  # a zero denominator yields NULL, never an error
                return exp.Div(
                    this=node.this, expression=exp.Nullif(this=node.expression, expression=exp.Literal.number(0))
                )
            return node

        return exp.Paren(this=tree.transform(swap, copy=False))

    def _columns(self, requested: list[MetricVersion]) -> list[OutputColumn]:
        cols = []
        if self.q.grain:
            cols.append(OutputColumn("period", "timestamp" if self.q.grain == "hour" else "date"))
        for dim in self.q.dimensions:
            cols.append(OutputColumn(dim, self._dim_type(requested, dim)))
        cols += [OutputColumn(m.name, "number") for m in requested]
        return cols

    def _dim_type(self, requested: list[MetricVersion], dim: str) -> str:
        """The JSON type of a dimension: the database's type of its column, else its declared type."""
        for m in requested:
            for base in self._bases(m):
                assert base.table is not None
                path = resolve_path(self.project, base.table, dim)
                column = path.column
                current = self.project.current_table(path.entity)
                for t in (path.table, current):
                    if t.types and column in t.types:
                        kind = t.types[column]
                        return JSON_TYPES.get(kind.split("(")[0], "number" if "DECIMAL" in kind else "string")
                for d in self.project.entities[path.entity].dimensions:
                    if d.name == column:
                        return {"integer": "number"}.get(d.type, d.type)
        return "string"

    def _bases(self, m: MetricVersion) -> list[MetricVersion]:
        out: dict[str, MetricVersion] = {}
        self._collect_base(m, out)
        return list(out.values())

    def _compare(self, source: str, requested: list[MetricVersion], columns: list[OutputColumn]):
        grain = self.q.grain
        assert grain is not None
        if self.q.compare == "prior_year":
            back = _interval(52, "week") if grain == "week" else _interval(1, "year")
        else:
            back = _interval(1, grain)
        prior = b.cast(
            exp.Sub(this=b.col("period", "cur"), expression=back), "TIMESTAMP" if grain == "hour" else "DATE"
        )
        on = b.and_(
            [b.eq(b.col("period", "prev"), prior)]
            + [_null_safe_eq(b.col(d, "cur"), b.col(d, "prev")) for d in self.dims]
        )
        fields: list[exp.Expression] = self._keys("cur")
        extra: list[OutputColumn] = []
        for m in requested:
            cur, prev = b.col(m.name, "cur"), b.col(m.name, "prev")
            change = exp.Sub(this=cur, expression=prev)
            pct = exp.Mul(
                this=exp.Div(
                    this=exp.Paren(this=change.copy()),
                    expression=exp.Nullif(this=exp.Abs(this=prev.copy()), expression=exp.Literal.number(0)),
                ),
                expression=exp.Literal.number(100),
            )
            fields += [
                b.alias(cur.copy(), m.name),
                b.alias(prev.copy(), f"{m.name}_prior"),
                b.alias(change, f"{m.name}_change"),
                b.alias(pct, f"{m.name}_change_pct"),
            ]
            extra += [
                OutputColumn(f"{m.name}_prior", "number"),
                OutputColumn(f"{m.name}_change", "number"),
                OutputColumn(f"{m.name}_change_pct", "number"),
            ]
        where = (
            [exp.GTE(this=b.col("period", "cur"), expression=self.bounds.start_of_period(grain))]
            if self.q.start
            else []
        )
        select = b.select(
            fields, b.table(source, "cur"), joins=[b.join(b.table(source, "prev"), on, side="LEFT")], where=where
        )
        self.ctes.append(("compared", select))
        return "compared", columns + extra

    def _fill(self, source: str, metrics: list[str]) -> str:
        grain = self.q.grain
        assert grain is not None
        kind = "TIMESTAMP" if grain == "hour" else "DATE"
        lo = self.bounds.start_of_period(grain) if self.q.start else exp.Min(this=b.col("period"))
        hi = self.bounds.end_of_period(grain) if self.q.end else exp.Max(this=b.col("period"))
        bounds = exp.Select(
            expressions=[b.alias(b.cast(lo, "TIMESTAMP"), "lo"), b.alias(b.cast(hi, "TIMESTAMP"), "hi")]
        )
        if not (self.q.start and self.q.end):  # a bound from the data: one aggregate row
            bounds.set("from_", exp.From(this=b.table(source)))
        self.ctes.append(("bounds", bounds))
        series = exp.Unnest(
            expressions=[exp.GenerateSeries(start=b.col("lo"), end=b.col("hi"), step=_interval(1, grain))]
        )
        self.ctes.append(("spine", b.select([b.alias(b.cast(series, kind), "period")], b.table("bounds"))))
        joins = []
        if self.dims:
            self.ctes.append(("combos", b.select([b.col(d) for d in self.dims], b.table(source), distinct=True)))
            joins.append(b.join(b.table("combos", "c"), kind="CROSS"))
        on = b.and_(
            [b.eq(b.col("period", "r"), b.col("period", "s"))]
            + [_null_safe_eq(b.col(d, "r"), b.col(d, "c")) for d in self.dims]
        )
        joins.append(b.join(b.table(source, "r"), on, side="LEFT"))
        values = [
            b.alias(
                exp.Coalesce(this=b.col(m, "r"), expressions=[exp.Literal.number(0)])
                if self.q.fill == "zero"
                else b.col(m, "r"),
                m,
            )
            for m in metrics
        ]
        select = b.select(
            [b.col("period", "s")] + [b.col(d, "c") for d in self.dims] + values, b.table("spine", "s"), joins=joins
        )
        self.ctes.append(("filled", select))
        return "filled"

    def _final(self, source: str, columns: list[OutputColumn]) -> exp.Select:
        q = self.q
        internal = {d: self.dims[i] for i, d in enumerate(q.dimensions)}
        fields = []
        for c in columns:
            inner = internal.get(c.name, c.name)
            fields.append(b.alias(b.col(inner), c.name) if inner != c.name else b.col(c.name))
        select = b.select(fields, b.table(source))
        names = [c.name for c in columns]
        order = []
        for item in q.order_items:
            if item.column not in names:
                raise InvalidQuery(
                    f"Cannot order by '{item.column}': not a column of the result. {did_you_mean(item.column, names)}"
                )
            order.append(
                exp.Ordered(this=b.col(internal.get(item.column, item.column)), desc=item.descending, nulls_first=False)
            )
        ordered = {o.this.name for o in order}
        order += [exp.Ordered(this=key, nulls_first=False) for key in self._keys() if key.name not in ordered]
        if order:
            select.set("order", exp.Order(expressions=order))
        if q.limit is not None:
            select.set("limit", exp.Limit(expression=placeholder("lim")))
        select.set("offset", exp.Offset(expression=placeholder("off")))
        return b.with_ctes(select, self.ctes)


def _filter(plan: JoinPlan, flt: Filter) -> exp.Expression:
    column = plan.column(flt.field)
    value = flt.value
    op = flt.operator
    if op in ("is", "is not"):
        target = exp.Null() if value in (None, "null", "NULL") else exp.Boolean(this=value in (True, "true"))
        test: exp.Expression = exp.Is(this=column, expression=target)
        return exp.Not(this=test) if op == "is not" else test
    if op in ("in", "not in"):
        if isinstance(value, list):
            literals = [_literal(v) for v in value]
        else:
            parsed = parse_expression(str(value))
            literals = parsed.expressions if isinstance(parsed, exp.Tuple) else [parsed.unnest()]
        test = exp.In(this=column, expressions=literals)
        return exp.Not(this=test) if op == "not in" else test
    return OPERATORS[op](this=column, expression=_literal(value))


def _literal(value: Any) -> exp.Expression:
    if isinstance(value, bool | int | float):
        return exp.convert(value)
    return parse_expression(str(value))
