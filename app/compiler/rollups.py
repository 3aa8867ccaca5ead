"""The rows of a rollup, as the compiler's own scans at the rollup's grain and dimensions: one row per
(period, dimensions) with each metric's part columns, over one batch ``[$start, $end)`` of its table."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlglot import exp

from app.compiler import build as b
from app.compiler.context import QueryContext
from app.compiler.periods import TimeBounds, period_type
from app.compiler.query import MetricQuery
from app.compiler.scans import group_scans, scan_cte
from app.definitions.project import MetricVersion, Project, Rollup
from app.definitions.rollups import part_columns

BATCH = TimeBounds("timestamp", "timestamp", end_exclusive=True)


def parts(m: MetricVersion) -> list[MetricVersion]:
    """The metrics whose aggregates a rollup stores for ``m``, one per part column (``rollups.part_columns``):
    plain aggregates (a window metric's per-period value), an average's sum and count, the rows counted, a
    semi-additive metric's snapshot. They share ``m``'s table, filters and snapshot rule: one scan computes them."""
    method = m.spec.calculation_method
    out = []
    for column in part_columns(m):
        update: dict[str, object] = {"name": column, "window": None}
        if column == f"{m.name}__sum":
            update["calculation_method"] = "sum"
        elif column in (f"{m.name}__count", f"{m.name}__n"):
            update["calculation_method"] = "count"
            if column == f"{m.name}__n":
                update["expression"] = "*"
        elif column == f"{m.name}__snap":
            nad = m.spec.non_additive_dimension
            assert nad is not None
            update |= {"calculation_method": nad.window_choice, "expression": nad.name}
        else:
            update["calculation_method"] = method
        out.append(replace(m, spec=m.spec.model_copy(update=update)))
    return out


def rollup_rows(project: Project, rollup: Rollup) -> exp.Select:
    """SELECT period, the dimensions (named as declared) and the part columns of the batch [$start, $end)."""
    query = MetricQuery(
        metrics=rollup.metrics,
        grain=rollup.spec.grain,
        dimensions=rollup.dimensions,
        start=datetime(2000, 1, 1),  # only their kind matters: the batch bounds are bound per batch
        end=datetime(2000, 1, 2),
    )
    ctx = QueryContext(project, query, bounds=BATCH)
    metrics = [p for name in rollup.metrics for p in parts(project.metric(name))]
    scans = group_scans(metrics)
    names = [scan_cte(ctx, i, scan, None) for i, scan in enumerate(scans)]
    columns = [m.name for m in metrics]
    keys = ctx.key_names()
    source = names[0]
    if len(names) > 1:  # one row per key: each scan's columns, NULL where it has no row (types kept: BY NAME)
        stacked: exp.Expr = b.select([exp.Star()], b.table(names[0]))
        for name in names[1:]:
            stacked = exp.Union(
                this=stacked, expression=b.select([exp.Star()], b.table(name)), distinct=False, by_name=True
            )
        ctx.add("stacked", stacked)
        ctx.add(
            "combined",
            b.select(
                [b.col(k) for k in keys] + [b.alias(exp.Max(this=b.col(c)), c) for c in columns],
                b.table("stacked"),
                group_by=[b.col(k) for k in keys],
            ),
        )
        source = "combined"
    fields: list[exp.Expr] = [b.alias(b.cast(b.col("period"), period_type(rollup.spec.grain)), "period")]
    fields += [b.alias(b.col(k), d) for k, d in zip(ctx.dims, rollup.dimensions, strict=True)]
    fields += [b.col(c) for c in columns]
    return b.with_ctes(b.select(fields, b.table(source)), ctx.ctes)


def rollup_reads(project: Project, rollup: Rollup) -> frozenset[str]:
    """``schema.table`` (lower case) of every table a rollup's rows read: its metrics' table and the joined ones
    (found once per loaded definitions)."""
    known: dict[str, frozenset[str]] = project.cache.setdefault("rollup_reads", {})
    if rollup.name not in known:
        tree = rollup_rows(project, rollup)
        known[rollup.name] = frozenset(f"{t.db}.{t.name}".lower() for t in tree.find_all(exp.Table) if t.db)
    return known[rollup.name]
