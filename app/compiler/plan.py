"""(Project, MetricQuery) -> a Template: check the query against the definitions, then build its CTEs.

Shape of the SQL (each piece a CTE):

    scan_N      one pass over a metric table per group of metrics sharing table, filters,
                snapshot rule and window: period, dimensions, one aggregate per metric (scans.py)
    combined    scans stacked with UNION ALL and collapsed per (period, dimensions)   (steps.py)
    result      derived metrics computed over the combined columns
    (compare)   result joined to itself one period (or year) back
    (fill)      a spine of periods x the dimension combinations present, LEFT JOINed to result
"""

from __future__ import annotations

from sqlglot import exp

from app.compiler import steps
from app.compiler.context import QueryContext
from app.compiler.query import MetricQuery
from app.compiler.scans import group_scans, scan_cte
from app.compiler.shape import Shape, shape_of
from app.compiler.template import Template
from app.definitions.diagnostics import did_you_mean
from app.definitions.paths import PathError, resolve_path
from app.definitions.project import MetricVersion, Project
from app.errors import InvalidQuery


def plan_template(project: Project, query: MetricQuery) -> tuple[Template, Shape]:
    """Compile a query shape in full (its ``where`` vetted against the metrics' dimensions)."""
    query.check_unique()
    ctx = QueryContext(project, query)
    requested = [project.metric(name, query.version) for name in query.metrics]
    for m in requested:
        _check_metric(ctx, m)
    shape = shape_of(query, _allowed_where(requested))
    base = list(ctx.base_metrics(requested).values())
    scans = group_scans(base)
    scan_names = [scan_cte(ctx, i, scan, shape.where) for i, scan in enumerate(scans)]
    combined = steps.combine(ctx, scan_names, scans)
    if query.fill != "none":  # fill feeds derived metrics and comparisons; it never replaces them
        combined = steps.fill(ctx, combined, [m.name for m in base])
    result = steps.result(ctx, combined, requested)
    final_name, columns = result, steps.output_columns(ctx, requested)
    if query.compare:
        final_name, columns = steps.compare(ctx, result, requested, columns)
    tree = steps.final(ctx, final_name, columns)
    tables = frozenset(f"{t.db}.{t.name}".lower() for t in tree.find_all(exp.Table) if t.db)
    template = Template(tree, tuple(columns), tuple(requested), tuple(base), tree.sql("duckdb"), tables, project)
    return template, shape


def _check_metric(ctx: QueryContext, m: MetricVersion) -> None:
    q = ctx.q
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
        if dim in m.answers:
            continue
        if "." in dim and m.table is not None:
            try:
                resolve_path(ctx.project, m.table, dim)
            except PathError as err:
                raise InvalidQuery(f"Dimension '{dim}' for metric '{m.name}': {err}") from None
        raise InvalidQuery(
            f"Unknown dimension '{dim}' for metric '{m.name}'. {did_you_mean(dim, m.dimensions)}"
            + ("" if m.dimensions else " This metric has no dimensions.")
        )


def _allowed_where(requested: list[MetricVersion]) -> set[str]:
    """Dimensions every requested metric has: what ``where`` may refer to."""
    allowed = set(requested[0].answers)
    for m in requested[1:]:
        allowed &= set(m.answers)
    return allowed
