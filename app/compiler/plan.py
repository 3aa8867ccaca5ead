"""(Project, MetricQuery) -> a Template: check the query against the definitions, then build its CTEs.

Shape of the SQL (each piece a CTE):

    scan_N      one pass over a metric table per group of metrics sharing table, filters,
                snapshot rule and window: period, dimensions, one aggregate per metric (scans.py)
    combined    scans stacked with UNION ALL and collapsed per (period, dimensions)   (steps.py)
    result      derived metrics computed over the combined columns
    (compare)   result joined to itself one period (or year) back; with compare_to=same_days, to a
                prior_* copy of the chain above whose rows are keyed by the period they are the prior of
                and kept only on the days that period covers (scans.py, _prior_bounds)
    (fill)      a spine of periods x the dimension combinations present, LEFT JOINed to result
"""

from __future__ import annotations

import threading

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect

from app.compiler import steps
from app.compiler.context import QueryContext
from app.compiler.query import MetricQuery
from app.compiler.rollups import rollup_reads
from app.compiler.scans import Scan, data_end, group_scans, scan_cte
from app.compiler.shape import Shape
from app.compiler.template import Sql, Template
from app.compiler.zones import localize
from app.definitions.diagnostics import did_you_mean
from app.definitions.paths import CURRENT, PathError, path_of, split_as_of
from app.definitions.project import MetricVersion, Project, Rollup
from app.errors import InvalidQuery


def plan_template(project: Project, query: MetricQuery, shape: Shape, rollup: Rollup | None = None) -> Template:
    """Compile a query shape in full (``shape`` holds its vetted ``where``, see ``allowed_where``), reading
    ``rollup`` in place of the metrics' table when given (matching.choose found it answers exactly)."""
    query.check_unique()
    ctx = QueryContext(project, query, rollup=rollup)
    requested = [project.metric(name, query.version) for name in query.metrics]
    for m in requested:
        _check_metric(ctx, m)
    base = list(ctx.base_metrics(requested).values())
    scans = group_scans(base)
    combined, result = _result(ctx, scans, shape.where, requested, None)
    final_name, columns = result, steps.output_columns(ctx, requested)
    if query.compare:
        prior = None
        if query.compare_to == "same_days":
            _check_same_days(base)
            prior = _result(ctx.as_prior(), scans, shape.where, requested, combined)[1]
        final_name, columns = steps.compare(ctx, result, requested, columns, prior)
    tree, columns = steps.final(ctx, final_name, columns)
    tree = localize(tree, project, ctx.calendar)
    tables = frozenset(name.lower() for name in ctx.reads if "." in name)  # as FROM writes them: schema.table
    if rollup is not None:  # what it was built from is read too (deprecations, data status)
        tables |= rollup_reads(project, rollup)
    sql = Sql(tree, duckdb_text(tree))
    return Template(sql, tuple(columns), tuple(requested), tuple(base), tables, project, _data_end(ctx, scans))


def _result(
    ctx: QueryContext, scans: list[Scan], where: exp.Expr | None, requested: list[MetricVersion], combos: str | None
) -> tuple[str, str]:
    """The scans, combined, filled (fill feeds derived metrics and comparisons; it never replaces them),
    and the requested metrics computed over them: the names of the combined and the result CTEs."""
    scan_names = [scan_cte(ctx, i, scan, where) for i, scan in enumerate(scans)]
    combined = steps.combine(ctx, scan_names, scans)
    filled = combined
    if ctx.q.fill != "none":
        filled = steps.fill(ctx, combined, [m.name for s in scans for m in s.metrics], combos)
    return combined, steps.result(ctx, filled, requested)


def duckdb_text(tree: exp.Expr) -> str:
    """DuckDB's SQL of a tree the compiler built and owns: generated in place (sqlglot's default deep copy of
    the tree first is half the time of generating it; a test checks the tree comes out unchanged), by this
    thread's one DuckDB generator (``tree.sql`` makes a generator for each text: a sixth of the time)."""
    generator = getattr(_THREAD, "duckdb", None)
    if generator is None:
        generator = _THREAD.duckdb = Dialect.get_or_raise("duckdb").generator()
    return generator.generate(tree, copy=False)


_THREAD = threading.local()  # a generator keeps state while it writes a text: one per thread


def _data_end(ctx: QueryContext, scans: list[Scan]) -> Sql | None:
    """With a grain, the SQL of the earliest end of the data among the tables read (what makes the last
    period partial when the data stops inside it); made once per tables, times and grain."""
    if not ctx.q.grain:
        return None
    tables = sorted({(s.table.name, str(s.metrics[0].spec.timestamp), s.metrics[0].grains) for s in scans})
    key = (ctx.q.grain, ctx.calendar.zone, *tables)
    known: dict[tuple[object, ...], Sql] = ctx.project.cache.setdefault("data_end_sql", {})
    if key not in known:
        ends: list[exp.Expr] = [exp.Subquery(this=data_end(s, ctx.q.grain)) for s in scans]
        first = ends[0] if len(ends) == 1 else exp.Least(this=ends[0], expressions=ends[1:])
        select = localize(exp.Select(expressions=[first.as_("data_end")]), ctx.project, ctx.calendar)
        known[key] = Sql(select, duckdb_text(select))
    return known[key]


def _check_same_days(base: list[MetricVersion]) -> None:
    for m in base:
        if m.spec.window is not None:
            raise InvalidQuery(
                f"compare_to=same_days does not apply to '{m.name}': a window metric's value is already its "
                "trailing window at the period's end; use compare_to=whole_period."
            )


def _check_metric(ctx: QueryContext, m: MetricVersion) -> None:
    q = ctx.q
    if q.grain:
        if not m.grains:
            raise InvalidQuery(f"Metric '{m.name}' has no timestamp, so it has no time grains; drop grain.")
        fiscal = q.grain in ("fiscal_quarter", "fiscal_year")
        if q.grain not in m.grains and not (fiscal and "month" in m.grains):  # fiscal periods are whole months
            allowed = [*m.grains, *(["fiscal_quarter", "fiscal_year"] if "month" in m.grains else [])]
            raise InvalidQuery(
                f"Metric '{m.name}' is not available at grain '{q.grain}'. Allowed grains: {', '.join(allowed)}."
            )
    if (q.start or q.end) and not m.grains:
        raise InvalidQuery(f"Metric '{m.name}' has no timestamp, so start and end do not apply to it.")
    for asked in q.dimensions:
        dim, _ = split_as_of(asked)
        if dim in m.answers:
            continue
        if "@" in dim:
            raise InvalidQuery(
                f"Dimension '{asked}': only {CURRENT} may follow a dimension's name (its value today rather than "
                "the value valid at each row's time), e.g. customer.customer_tier@current."
            )
        if "." in dim and m.table is not None:
            try:
                path_of(ctx.project, m.table, dim)
            except PathError as err:
                raise InvalidQuery(f"Dimension '{dim}' for metric '{m.name}': {err}") from None
        raise InvalidQuery(
            f"Unknown dimension '{dim}' for metric '{m.name}'. {did_you_mean(dim, m.dimensions)}"
            + ("" if m.dimensions else " This metric has no dimensions.")
        )


def base_metrics(project: Project, query: MetricQuery) -> list[MetricVersion]:
    """The metrics a query reads from tables: those asked for, or what derived ones are made of."""
    requested = [project.metric(name, query.version) for name in query.metrics]
    return list(QueryContext(project, query).base_metrics(requested).values())


def allowed_where(project: Project, query: MetricQuery) -> set[str]:
    """Dimensions every requested metric has: what ``where`` may refer to."""
    requested = [project.metric(name, query.version) for name in query.metrics]
    allowed = set(requested[0].answers)
    for m in requested[1:]:
        allowed &= set(m.answers)
    return allowed
