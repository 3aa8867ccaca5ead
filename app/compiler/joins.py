"""Reach a dimension from a metric's table: relationship paths become LEFT JOINs (many-to-one only)."""

from __future__ import annotations

from sqlglot import exp

from app.definitions.problems import did_you_mean
from app.definitions.project import BoundTable, Project
from app.errors import InvalidQuery

BASE_ALIAS = "t"


def table_expr(name: str, alias: str) -> exp.Table:
    db, _, table = name.rpartition(".")
    return exp.table_(table, db=db or None, quoted=True, alias=exp.to_identifier(alias, quoted=True))


def fan_out_problem(project: Project, entity: str, path: list[str]) -> str | None:
    """Why a relationship path cannot be grouped by (a one-to-many hop, an unknown name), or None."""
    for hop in path:
        spec = project.entities[entity]
        rels = {r.name: r for r in spec.relationships}
        if hop not in rels:
            return f"entity '{entity}' has no relationship '{hop}'. {did_you_mean(hop, rels)}"
        if rels[hop].type == "one_to_many":
            return (
                f"relationship '{hop}' of '{entity}' is one_to_many: grouping by it would fan out and "
                "double-count. Only many_to_one and one_to_one paths can be dimensions"
            )
        entity = rels[hop].entity
    return None


class JoinPlan:
    """The FROM clause of one metric table and the joins its dimensions need."""

    def __init__(self, project: Project, table: BoundTable):
        self.project = project
        self.table = table
        self.joins: dict[str, exp.Join] = {}

    def column(self, name: str) -> exp.Column:
        """SQL for a column of the metric's table or a dimension path such as ``team.customer.sales_region``."""
        *path, col = name.split(".")
        entity, alias, table = self.table.entity, BASE_ALIAS, self.table
        for i, hop in enumerate(path):
            problem = fan_out_problem(self.project, entity, [hop])
            if problem:
                raise InvalidQuery(f"Dimension '{name}': {problem}.")
            rel = next(r for r in self.project.entities[entity].relationships if r.name == hop)
            key = self._local(entity, alias, table, rel.foreign_key)
            target = self.project.current_table(rel.entity)
            joined = "__".join(path[: i + 1])
            self._join(joined, target, key, target_pk=self.project.entities[rel.entity].primary_key)
            entity, alias, table = rel.entity, joined, target
        return self._local(entity, alias, table, col)

    def _local(self, entity: str, alias: str, table: BoundTable, col: str) -> exp.Column:
        """A column of ``table``, or of its entity's current table joined on the primary key."""
        if table.has(col):
            return exp.column(col, table=alias, quoted=True)
        current = self.project.current_table(entity)
        pk = self.project.entities[entity].primary_key
        own = f"{alias}__{entity}" if alias != BASE_ALIAS else f"__{entity}"
        self._join(own, current, exp.column(pk, table=alias, quoted=True), target_pk=pk)
        return exp.column(col, table=own, quoted=True)

    def _join(self, alias: str, target: BoundTable, key: exp.Expression, *, target_pk: str) -> None:
        if alias in self.joins:
            return
        on = key.eq(exp.column(target_pk, table=alias, quoted=True))
        self.joins[alias] = exp.Join(this=table_expr(target.name, alias), on=on, side="LEFT")

    def from_(self, select: exp.Select) -> exp.Select:
        """``select`` with this plan's FROM and JOIN clauses."""
        out = select.from_(table_expr(self.table.name, BASE_ALIAS), copy=False)
        for join in self.joins.values():
            out = out.join(join.copy(), copy=False)
        return out
