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

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlglot import exp

from app.compiler.filters import parse_where, resolve_where
from app.compiler.joins import JoinPlan, fan_out_problem
from app.compiler.query import MetricQuery
from app.definitions.problems import did_you_mean
from app.definitions.project import MetricVersion, Project, grain_rank
from app.definitions.resolve import derived_sql, parse_expression
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
class CompiledQuery:
    tree: exp.Select
    columns: tuple[OutputColumn, ...]
    metrics: tuple[MetricVersion, ...]
    base_metrics: tuple[MetricVersion, ...]
    limit: int

    def sql(self, dialect: str = "duckdb", *, pretty: bool = False) -> str:
        if dialect not in DIALECTS:
            raise InvalidQuery(f"Unknown dialect '{dialect}'. {did_you_mean(dialect, DIALECTS)}")
        tree = self.tree
        if dialect == "bigquery":  # BigQuery's WEEK starts on Sunday; ours is ISO (Monday)
            tree = tree.transform(_iso_week_for_bigquery)
        return tree.sql(dialect=dialect, pretty=pretty)


def compile_query(project: Project, query: MetricQuery) -> CompiledQuery:
    """Compile a metric query to one SELECT (LIMIT is ``query.limit + 1`` to detect truncation)."""
    return _Compiler(project, query).compile()


def _id(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def _col(name: str, table: str | None = None) -> exp.Column:
    return exp.column(name, table=table, quoted=True)


def _time_literal(value: date | datetime) -> exp.Expression:
    if isinstance(value, datetime):
        return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), "TIMESTAMP")
    return exp.cast(exp.Literal.string(value.isoformat()), "DATE")


def _interval(count: int, unit: str) -> exp.Interval:
    return exp.Interval(this=exp.Literal.string(str(count)), unit=exp.var(unit.upper()))


def _period(ts: exp.Expression, grain: str) -> exp.Expression:
    return exp.cast(exp.DateTrunc(this=ts, unit=exp.var(grain.upper())), "TIMESTAMP" if grain == "hour" else "DATE")


def _iso_week_for_bigquery(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.DateTrunc) and node.unit and node.unit.name.upper() == "WEEK":
        return exp.DateTrunc(this=node.this, unit=exp.var("ISOWEEK"))
    return node


def _shift_back(value: date | datetime, grain: str, count: int) -> date | datetime:
    """A bound moved ``count`` periods earlier (generously: extra rows are trimmed later)."""
    days = {"hour": 1, "day": 1, "week": 7, "month": 31, "quarter": 92, "year": 366}[grain] * count
    return value - timedelta(days=days)


def _null_safe_eq(a: exp.Expression, b: exp.Expression) -> exp.Expression:
    return exp.NullSafeEQ(this=a, expression=b)


@dataclass
class _Scan:
    table_key: tuple
    metrics: list[MetricVersion]


class _Compiler:
    def __init__(self, project: Project, query: MetricQuery):
        self.project = project
        self.q = query
        self.ctes: list[tuple[str, exp.Expression]] = []

    # -- planning ----------------------------------------------------------------------------
    def compile(self) -> CompiledQuery:
        q = self.q
        requested = [self.project.metric(name, q.version) for name in q.metrics]
        for m in requested:
            self._check_metric(m)
        self.dims = [f"__d{i}" for i in range(len(q.dimensions))]
        where = parse_where(q.where, self._allowed_where(requested)) if q.where else None
        base: dict[str, MetricVersion] = {}
        for m in requested:
            self._collect_base(m, base)
        scans = self._group(list(base.values()))
        scan_names = [self._scan(i, scan, where) for i, scan in enumerate(scans)]
        combined = self._combine(scan_names, scans)
        result = self._result(combined, requested)
        final_name, columns = result, self._columns(requested)
        if q.compare:
            final_name, columns = self._compare(result, requested, columns)
        if q.fill != "none":
            final_name = self._fill(final_name, [c.name for c in columns if c.type == "number"])
        tree = self._final(final_name, columns)
        return CompiledQuery(tree, tuple(columns), tuple(requested), tuple(base.values()), q.limit)

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
                problem = fan_out_problem(self.project, m.table.entity, dim.split(".")[:-1])
                if problem:
                    raise InvalidQuery(f"Dimension '{dim}' for metric '{m.name}': {problem}.")
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
        scans: dict[tuple, _Scan] = {}
        for m in base:
            s = m.spec
            key = (m.table.entity, m.table.key, s.timestamp, s.filters, s.non_additive_dimension, s.window)
            scans.setdefault(key, _Scan(key, [])).metrics.append(m)
        return list(scans.values())

    # -- one scan ----------------------------------------------------------------------------
    def _scan(self, index: int, scan: _Scan, where: exp.Expression | None) -> str:
        first = scan.metrics[0]
        spec = first.spec
        plan = JoinPlan(self.project, first.table)
        ts = plan.column(spec.timestamp) if spec.timestamp else None
        grain = self.q.grain
        window = spec.window
        conditions = self._conditions(plan, ts, scan, where)
        dims = [plan.column(d).as_(self.dims[i]) for i, d in enumerate(self.q.dimensions)]
        values = [(m, self._value(plan, m)) for m in scan.metrics]
        name = f"scan_{index}"

        if window is not None:
            return self._window_scan(name, plan, ts, conditions, dims, values, window)

        nad = spec.non_additive_dimension
        keys = ([_period(ts, grain).as_("period")] if grain else []) + dims
        if nad is None:
            select = exp.select(*keys, *[self._aggregate(m, v).as_(m.name) for m, v in values])
            select = plan.from_(select).where(*conditions) if conditions else plan.from_(select)
            select = select.group_by(*[k.this for k in keys]) if keys else select
            self.ctes.append((name, select))
            return name

        # semi-additive: only the rows of the latest (or earliest) snapshot within each period
        snap = plan.column(nad.name)
        groupings = [plan.column(g).as_(f"__g{i}") for i, g in enumerate(nad.window_groupings)]
        rows = exp.select(*keys, *groupings, snap.as_("__snap"), *[v.as_(f"__v_{m.name}") for m, v in values])
        rows = plan.from_(rows)
        if conditions:
            rows = rows.where(*conditions)
        self.ctes.append((f"{name}_rows", rows))
        part = (["period"] if grain else []) + [f"__g{i}" for i in range(len(groupings))]
        pick = exp.Max if nad.window_choice == "max" else exp.Min
        last = exp.select(*[_col(p) for p in part], pick(this=_col("__snap")).as_("__snap")).from_(f"{name}_rows")
        if part:
            last = last.group_by(*[_col(p) for p in part])
        self.ctes.append((f"{name}_last", last))
        on = [_col(p, "r").eq(_col(p, "l")) for p in part] + [_col("__snap", "r").eq(_col("__snap", "l"))]
        key_cols = (["period"] if grain else []) + self.dims
        select = (
            exp.select(
                *[_col(k, "r").as_(k) for k in key_cols],
                *[self._aggregate(m, _col(f"__v_{m.name}", "r")).as_(m.name) for m, _ in values],
            )
            .from_(exp.to_table(f"{name}_rows").as_("r"))
            .join(exp.to_table(f"{name}_last").as_("l"), on=exp.and_(*on), join_type="inner")
        )
        if key_cols:
            select = select.group_by(*[_col(k, "r") for k in key_cols])
        self.ctes.append((name, select))
        return name

    def _window_scan(self, name, plan, ts, conditions, dims, values, window) -> str:
        """Rolling window over per-period aggregates (never raw rows joined to a date spine)."""
        grain = self.q.grain
        step = grain if grain and grain_rank(grain) <= grain_rank(window.period) else window.period
        span = _interval(window.count, window.period)
        frame_start = exp.Sub(this=span, expression=_interval(1, step))
        per = exp.select(_period(ts, step).as_("__p"), *dims, *[self._aggregate(m, v).as_(m.name) for m, v in values])
        per = plan.from_(per)
        if conditions:
            per = per.where(*conditions)
        per = per.group_by(*[_period(ts, step)] + [d.this for d in dims])
        self.ctes.append((f"{name}_per", per))
        spec = exp.Window(
            partition_by=[_col(d) for d in self.dims] or None,
            order=exp.Order(expressions=[exp.Ordered(this=_col("__p"))]),
            spec=exp.WindowSpec(kind="RANGE", start=frame_start, start_side="PRECEDING", end="CURRENT ROW"),
        )
        rolled_values = []
        for m, _ in values:
            combine = WINDOW_COMBINE[m.spec.calculation_method]
            rolled_values.append(
                exp.Window(this=combine(this=_col(m.name)), **{k: v for k, v in spec.args.items() if k != "this"}).as_(
                    m.name
                )
            )
        rolled = exp.select(_col("__p"), *[_col(d) for d in self.dims], *rolled_values).from_(f"{name}_per")
        self.ctes.append((f"{name}_rolled", rolled))
        keys = ([_period(_col("__p"), grain).as_("period")] if grain else []) + [_col(d).as_(d) for d in self.dims]
        select = exp.select(*keys, *[_col(m.name) for m, _ in values]).from_(f"{name}_rolled")
        lower = self._lower_bound()
        if lower is not None:
            select = select.where(_col("__p") >= _time_literal(lower))
        if grain != step:  # the window's value at the last sub-period of each coarser period
            part = [_period(_col("__p"), grain)] if grain else []
            last = exp.Window(
                this=exp.Max(this=_col("__p")), partition_by=(part + [_col(d) for d in self.dims]) or None
            )
            select = select.qualify(_col("__p").eq(last))
        self.ctes.append((name, select))
        return name

    def _lower_bound(self) -> date | datetime | None:
        q = self.q
        if q.start is None:
            return None
        if q.grain is None:
            return q.start
        return _truncate(q.start, q.grain)

    def _conditions(self, plan: JoinPlan, ts, scan: _Scan, where) -> list[exp.Expression]:
        q = self.q
        spec = scan.metrics[0].spec
        out: list[exp.Expression] = []
        start = q.start
        if start is not None:
            if q.grain:
                start = _truncate(start, q.grain)  # whole periods (a later filter trims partial ones)
            if q.compare == "prior_period":
                start = _shift_back(start, q.grain, 1)
            elif q.compare == "prior_year":
                start = _shift_back(start, "year", 1)
            if spec.window is not None:
                start = _shift_back(start, spec.window.period, spec.window.count)
            out.append(ts >= _time_literal(start))
        if q.end is not None:
            if q.end_exclusive is not None:
                out.append(ts < _time_literal(q.end_exclusive))
            else:
                out.append(ts <= _time_literal(q.end))
        for flt in spec.filters or ():
            out.append(_filter(plan, flt))
        if where is not None:
            out.append(exp.paren(resolve_where(where, plan.column)))
        return out

    def _value(self, plan: JoinPlan, m: MetricVersion) -> exp.Expression:
        """The per-row expression of a metric, columns qualified by the table alias."""
        raw = m.spec.expression
        if raw is None or str(raw).strip() == "*":
            return exp.Star()
        tree = parse_expression(str(raw))
        return tree.transform(lambda n: plan.column(n.name) if isinstance(n, exp.Column) else n)

    def _aggregate(self, m: MetricVersion, value: exp.Expression) -> exp.Expression:
        method = m.spec.calculation_method
        if method == "count_distinct":
            return exp.Count(this=exp.Distinct(expressions=[value]))
        if method == "count" and isinstance(value, exp.Star):
            return exp.Count(this=exp.Star())
        return AGGREGATES[method](this=value)

    # -- assembling ----------------------------------------------------------------------------
    def _keys(self, table: str | None = None) -> list[exp.Column]:
        return [_col(k, table) for k in ((["period"] if self.q.grain else []) + self.dims)]

    def _combine(self, scan_names: list[str], scans: list[_Scan]) -> str:
        metric_names = [m.name for s in scans for m in s.metrics]
        if len(scan_names) == 1:
            return scan_names[0]
        parts = []
        for name, scan in zip(scan_names, scans, strict=True):
            own = {m.name for m in scan.metrics}
            parts.append(
                exp.select(
                    *self._keys(),
                    *[(_col(n) if n in own else exp.cast(exp.Null(), "DOUBLE")).as_(n) for n in metric_names],
                ).from_(name)
            )
        stacked = parts[0]
        for part in parts[1:]:
            stacked = exp.union(stacked, part, distinct=False)
        self.ctes.append(("stacked", stacked))
        combined = exp.select(*self._keys(), *[exp.Max(this=_col(n)).as_(n) for n in metric_names]).from_("stacked")
        if self._keys():
            combined = combined.group_by(*self._keys())
        self.ctes.append(("combined", combined))
        return "combined"

    def _result(self, source: str, requested: list[MetricVersion]) -> str:
        select = exp.select(
            *self._keys(), *[exp.cast(self._metric_expr(m), "DOUBLE").as_(m.name) for m in requested]
        ).from_(source)
        self.ctes.append(("result", select))
        return "result"

    def _metric_expr(self, m: MetricVersion) -> exp.Expression:
        if m.table is not None:
            return _col(m.name)
        tree = parse_expression(derived_sql(str(m.spec.expression)))

        def swap(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Column):
                return exp.paren(self._metric_expr(self.project.metric(node.name)))
            if isinstance(node, exp.Div):  # a zero denominator yields NULL, never an error
                return exp.Div(
                    this=node.this, expression=exp.Nullif(this=node.expression, expression=exp.Literal.number(0))
                )
            return node

        return exp.paren(tree.transform(swap))

    def _columns(self, requested: list[MetricVersion]) -> list[OutputColumn]:
        cols = []
        if self.q.grain:
            cols.append(OutputColumn("period", "timestamp" if self.q.grain == "hour" else "date"))
        for dim in self.q.dimensions:
            cols.append(OutputColumn(dim, self._dim_type(requested, dim)))
        cols += [OutputColumn(m.name, "number") for m in requested]
        return cols

    def _dim_type(self, requested: list[MetricVersion], dim: str) -> str:
        for m in requested:
            for base in self._bases(m):
                table = base.table
                *path, col = dim.split(".")
                entity = table.entity
                for hop in path:
                    entity = next(r.entity for r in self.project.entities[entity].relationships if r.name == hop)
                    table = self.project.current_table(entity)
                for t in (table, self.project.current_table(entity)):
                    if t.types and col in t.types:
                        return JSON_TYPES.get(
                            t.types[col].split("(")[0], "number" if "DECIMAL" in t.types[col] else "string"
                        )
                for d in self.project.entities[entity].dimensions:
                    if d.name == col:
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
        prior_period = exp.cast(
            exp.Sub(this=_col("period", "cur"), expression=back), "TIMESTAMP" if grain == "hour" else "DATE"
        )
        on = [_col("period", "prev").eq(prior_period)] + [
            _null_safe_eq(_col(d, "cur"), _col(d, "prev")) for d in self.dims
        ]
        fields: list[exp.Expression] = [*self._keys("cur")]
        extra: list[OutputColumn] = []
        for m in requested:
            cur, prev = _col(m.name, "cur"), _col(m.name, "prev")
            change = exp.Sub(this=cur, expression=prev)
            pct = exp.Mul(
                this=exp.Div(
                    this=exp.paren(change.copy()),
                    expression=exp.Nullif(this=exp.Abs(this=prev.copy()), expression=exp.Literal.number(0)),
                ),
                expression=exp.Literal.number(100),
            )
            fields += [
                cur.as_(m.name),
                prev.as_(f"{m.name}_prior"),
                change.as_(f"{m.name}_change"),
                pct.as_(f"{m.name}_change_pct"),
            ]
            extra += [
                OutputColumn(f"{m.name}_prior", "number"),
                OutputColumn(f"{m.name}_change", "number"),
                OutputColumn(f"{m.name}_change_pct", "number"),
            ]
        select = (
            exp.select(*fields)
            .from_(exp.to_table(source).as_("cur"))
            .join(exp.to_table(source).as_("prev"), on=exp.and_(*on), join_type="left")
        )
        lower = self._lower_bound()
        if lower is not None:
            select = select.where(_col("period", "cur") >= _time_literal(lower))
        self.ctes.append(("compared", select))
        return "compared", columns + extra

    def _fill(self, source: str, metrics: list[str]) -> str:
        grain = self.q.grain
        assert grain is not None
        kind = "TIMESTAMP" if grain == "hour" else "DATE"
        lo = _time_literal(_truncate(self.q.start, grain)) if self.q.start else exp.Min(this=_col("period"))
        hi = _time_literal(_truncate(self.q.end, grain)) if self.q.end else exp.Max(this=_col("period"))
        bounds = exp.select(exp.cast(lo, "TIMESTAMP").as_("lo"), exp.cast(hi, "TIMESTAMP").as_("hi"))
        if not (self.q.start and self.q.end):  # a bound from the data: one aggregate row
            bounds = bounds.from_(source)
        self.ctes.append(("bounds", bounds))
        series = exp.Unnest(
            expressions=[exp.GenerateSeries(start=_col("lo"), end=_col("hi"), step=_interval(1, grain))]
        )
        spine = exp.select(exp.cast(series, kind).as_("period")).from_("bounds")
        self.ctes.append(("spine", spine))
        if self.dims:
            self.ctes.append(("combos", exp.select(*[_col(d) for d in self.dims]).distinct().from_(source)))
        select = exp.select(
            _col("period", "s"),
            *[_col(d, "c") for d in self.dims],
            *[
                (
                    exp.Coalesce(this=_col(m, "r"), expressions=[exp.Literal.number(0)])
                    if self.q.fill == "zero"
                    else _col(m, "r")
                ).as_(m)
                for m in metrics
            ],
        ).from_(exp.to_table("spine").as_("s"))
        if self.dims:
            select = select.join(exp.to_table("combos").as_("c"), join_type="cross")
        on = [_col("period", "r").eq(_col("period", "s"))] + [
            _null_safe_eq(_col(d, "r"), _col(d, "c")) for d in self.dims
        ]
        select = select.join(exp.to_table(source).as_("r"), on=exp.and_(*on), join_type="left")
        self.ctes.append(("filled", select))
        return "filled"

    def _final(self, source: str, columns: list[OutputColumn]) -> exp.Select:
        q = self.q
        internal = {d: self.dims[i] for i, d in enumerate(q.dimensions)}
        fields = []
        for c in columns:
            inner = internal.get(c.name, c.name)
            fields.append(exp.alias_(_col(inner), _id(c.name), quoted=True) if inner != c.name else _col(c.name))
        select = exp.select(*fields).from_(source)
        names = [c.name for c in columns]
        order = []
        for item in q.order:
            if item.column not in names:
                raise InvalidQuery(
                    f"Cannot order by '{item.column}': not a column of the result. {did_you_mean(item.column, names)}"
                )
            order.append(
                exp.Ordered(this=_col(internal.get(item.column, item.column)), desc=item.descending, nulls_first=False)
            )
        for key in self._keys():
            if not any(o.this == key for o in order):
                order.append(exp.Ordered(this=key, nulls_first=False))
        if order:
            select = select.order_by(*order)
        select = select.limit(q.limit + 1)
        if q.offset:
            select = select.offset(q.offset)
        for name, cte in self.ctes:
            select = select.with_(name, as_=cte)
        return select


def _filter(plan: JoinPlan, flt: Filter) -> exp.Expression:
    column = plan.column(flt.field)
    value = flt.value
    op = flt.operator
    if op in ("is", "is not"):
        target = exp.Null() if value in (None, "null", "NULL") else exp.Boolean(this=value in (True, "true"))
        test = exp.Is(this=column, expression=target)
        return exp.Not(this=test) if op == "is not" else test
    if op in ("in", "not in"):
        items = value if isinstance(value, list) else None
        if items is None:
            parsed = parse_expression(str(value))
            literals = parsed.expressions if isinstance(parsed, exp.Tuple) else [parsed.unnest()]
        else:
            literals = [_literal(v) for v in items]
        test = column.isin(*literals)
        return exp.Not(this=test) if op == "not in" else test
    return OPERATORS[op](this=column, expression=_literal(value))


def _literal(value) -> exp.Expression:
    if isinstance(value, bool | int | float):
        return exp.convert(value)
    return parse_expression(str(value))


def _truncate(value: date | datetime, grain: str) -> date | datetime:
    """The start of the period holding ``value``."""
    if grain == "hour":
        base = value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)
        return base.replace(minute=0, second=0, microsecond=0)
    d = value.date() if isinstance(value, datetime) else value
    if grain == "day":
        return d
    if grain == "week":
        return d - timedelta(days=d.weekday())
    if grain == "month":
        return d.replace(day=1)
    if grain == "quarter":
        return d.replace(month=(d.month - 1) // 3 * 3 + 1, day=1)
    return d.replace(month=1, day=1)
