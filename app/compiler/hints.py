"""Warnings about a query's values: a ``where`` value that a dimension's accepted_values rule out."""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from app.compiler.filters import dimension_name
from app.definitions.paths import PathError, path_of
from app.definitions.project import MetricVersion, Project


def where_warnings(
    project: Project, bases: list[MetricVersion], where: exp.Expr | None, params: dict[str, Any]
) -> list[str]:
    """One warning per value compared with a dimension (=, <>, IN) that its accepted_values do not hold.

    ``where`` is the query's tree with its values lifted into ``params`` (placeholders), so the
    warnings follow the values of each request, also when its SQL came from the shape cache.
    """
    if where is None:
        return []
    out: list[str] = []
    for node in where.find_all(exp.EQ, exp.NEQ, exp.In):
        column = node.this if isinstance(node.this, exp.Column) else node.args.get("expression")
        if not isinstance(column, exp.Column):
            continue
        others = node.expressions if isinstance(node, exp.In) else [node.expression, node.this]
        values = [params[p.this] for p in others if isinstance(p, exp.Placeholder) and p.this in params]
        dim = dimension_name(column)
        accepted = _accepted(project, bases, dim)
        if accepted is None:
            continue
        for value in dict.fromkeys(values):  # each once (an IN list's padding repeats its last)
            if isinstance(value, str) and value not in accepted:
                out.append(
                    f"where compares '{dim}' with '{value}', which is not one of its accepted values "
                    f"({', '.join(map(str, accepted))}): no row can match it."
                )
    return out


def _accepted(project: Project, bases: list[MetricVersion], dim: str) -> tuple[str, ...] | None:
    """The dimension's declared accepted_values (as text), from the first metric that reaches it."""
    for m in bases:
        if m.table is None:
            continue
        try:
            path = path_of(project, m.table, dim)
        except PathError:
            continue
        for d in project.entities[path.entity].dimensions:
            if d.name == path.column and d.accepted_values is not None:
                return tuple(str(v) for v in d.accepted_values)
    return None
