"""Reach a column from a metric's table: relationship paths become LEFT JOINs (many-to-one only)."""

from __future__ import annotations

from sqlglot import exp

from app.compiler import build as b
from app.definitions.paths import PathError, resolve_path
from app.definitions.project import BoundTable, Project
from app.errors import InvalidQuery

BASE_ALIAS = "t"


class JoinPlan:
    """The FROM table of one metric scan and the joins its columns need."""

    def __init__(self, project: Project, table: BoundTable):
        self.project = project
        self.table = table
        self.joins: dict[str, exp.Join] = {}

    def column(self, name: str) -> exp.Column:
        """SQL for a column of the metric's table or a dimension path such as ``team.customer.sales_region``."""
        try:
            path = resolve_path(self.project, self.table, name)
        except PathError as err:
            raise InvalidQuery(f"Dimension '{name}': {err}") from None
        alias = BASE_ALIAS
        entity = path.start.entity
        own = f"__{entity}"  # the metric entity's current table, joined for an attribute or a key
        if path.through_key:
            pk = self.project.entities[entity].primary_key
            current = self.project.current_table(entity)
            self._join(own, current, exp.column(pk, table=BASE_ALIAS, quoted=True), pk)
        for i, hop in enumerate(path.hops):
            key_alias = alias
            if i == 0 and not path.start.has(hop.relationship.foreign_key):
                key_alias = own
            joined = "__".join(h.relationship.name for h in path.hops[: i + 1])
            key = exp.column(hop.relationship.foreign_key, table=key_alias, quoted=True)
            self._join(joined, hop.table, key, self.project.entities[hop.target].primary_key)
            alias = joined
        if not path.hops and path.table is not path.start:
            alias = own
        return exp.column(path.column, table=alias, quoted=True)

    def _join(self, alias: str, target: BoundTable, key: exp.Expr, target_pk: str) -> None:
        if alias not in self.joins:
            on = b.eq(key, exp.column(target_pk, table=alias, quoted=True))
            self.joins[alias] = exp.Join(this=b.table(target.name, alias), on=on, side="LEFT")
