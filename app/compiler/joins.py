"""Reach a column from a metric's table: relationship paths become LEFT JOINs (many-to-one only).

Point in time: where the related entity has an SCD type 2 history (valid_from, valid_to) holding the
column, the join reads the row valid at the metric row's timestamp, so history is never restated;
``customer.customer_tier@current`` reads today's value from the entity's current table instead.
"""

from __future__ import annotations

from sqlglot import exp

from app.compiler import build as b
from app.compiler.periods import ISO, Calendar, interval
from app.compiler.zones import stored
from app.definitions.expressions import parse_expression
from app.definitions.paths import CURRENT, PathError, path_of, split_as_of
from app.definitions.project import BoundTable, History, Project
from app.errors import InvalidQuery

BASE_ALIAS = "t"


class JoinPlan:
    """The FROM table of one metric scan and the joins its columns need; ``as_of`` is the column of
    the table holding each row's timestamp (None: joins read the current state)."""

    def __init__(self, project: Project, table: BoundTable, as_of: str | None = None, calendar: Calendar = ISO):
        self.project = project
        self.table = table
        self.calendar = calendar  # in a zone, instants are compared in UTC (a wall-clock hour may repeat)
        self.as_of = as_of if as_of and table.has(as_of) else None
        self.joins: dict[str, exp.Join] = {}
        self.joined: dict[str, BoundTable] = {}  # alias -> the table joined under it

    @property
    def source(self) -> str:
        return self.table.name

    def reads(self) -> set[str]:
        """The tables read so far: the metric's and each joined one."""
        return {self.table.name, *(t.name for t in self.joined.values())}

    def column(self, name: str) -> exp.Expr:
        """SQL for a column of the metric's table or a dimension path such as ``team.customer.sales_region``;
        a computed dimension is its expression over its entity's columns, each reached by the same path."""
        dimension, current = split_as_of(name)
        try:
            path = path_of(self.project, self.table, dimension)
        except PathError as err:
            raise InvalidQuery(f"Dimension '{name}': {err}") from None
        if path.expression is not None:
            if current and not path.hops:
                raise InvalidQuery(
                    f"Dimension '{name}': '{dimension}' is computed from the metric's own rows; @current applies to "
                    "dimensions joined from another table."
                )
            prefix = dimension.rpartition(".")[0]
            suffix = CURRENT if current else ""

            def reach(node: exp.Expr) -> exp.Expr:
                if isinstance(node, exp.Column):
                    return self.column(f"{prefix}.{node.name}{suffix}" if prefix else f"{node.name}{suffix}")
                return node

            return exp.Paren(this=parse_expression(path.expression).transform(reach, copy=False))
        if current and not path.hops and not path.through_key:
            raise InvalidQuery(
                f"Dimension '{name}': '{dimension}' is a column of the metric's own table, read as it is on "
                "each row; @current applies to dimensions joined from another table."
            )
        alias = own = BASE_ALIAS
        entity = path.start.entity
        if path.through_key:  # the metric entity's own attribute or key, from its current (or history) table
            needed = path.hops[0].relationship.foreign_key if path.hops else path.column
            pk = self.project.entities[entity].primary_key
            own = self._join(f"__{entity}", entity, needed, exp.column(pk, table=BASE_ALIAS, quoted=True), current)
        for i, hop in enumerate(path.hops):
            key_alias = alias
            if i == 0 and not path.start.has(hop.relationship.foreign_key):
                key_alias = own
            needed = path.hops[i + 1].relationship.foreign_key if i + 1 < len(path.hops) else path.column
            joined = "__".join(h.relationship.name for h in path.hops[: i + 1])
            key = exp.column(hop.relationship.foreign_key, table=key_alias, quoted=True)
            alias = self._join(joined, hop.target, needed, key, current)
        if not path.hops and path.table is not path.start:
            alias = own
        return exp.column(path.column, table=alias, quoted=True)

    def _join(self, alias: str, entity: str, needed: str, key: exp.Expr, current: bool) -> str:
        """Join the entity's table holding ``needed`` on ``key``: its history as of the row's timestamp
        when there is one (and ``current`` is not asked), else its current table. Returns the alias."""
        history = self.project.history(entity)
        as_of = history is not None and self.as_of is not None and not current and history.table.has(needed)
        target = history.table if as_of and history is not None else self.project.current_table(entity)
        if history is not None and not as_of:
            alias += "__now"
        if alias not in self.joins:
            pk = self.project.entities[entity].primary_key
            on: exp.Expr = b.eq(key, exp.column(pk, table=alias, quoted=True))
            if as_of and history is not None:
                on = exp.And(this=on, expression=exp.Paren(this=self._valid(alias, history)))
            self.joins[alias] = exp.Join(this=b.table(target.name, alias), on=on, side="LEFT")
            self.joined[alias] = target
        return alias

    def _valid(self, alias: str, history: History) -> exp.Expr:
        """The history row valid at the metric row's time: at its timestamp for event rows, at the end of
        its period for rows of a grain (a monthly row is the month's state at its end, as a daily one is
        the day's): valid_from <= ts < valid_to, or valid_from < period end <= valid_to; valid_to NULL
        while current."""
        assert self.as_of is not None
        ts: exp.Expr = stored(b.col(self.as_of, BASE_ALIAS), self.table, self.calendar)
        valid_from = stored(b.col(history.valid_from, alias), history.table, self.calendar)
        valid_to = stored(b.col(history.valid_to, alias), history.table, self.calendar)
        grain = self.table.finest_grain
        starts: exp.Expr
        ends: exp.Expr
        if grain is None or grain == "hour":
            starts, ends = exp.LTE(this=valid_from, expression=ts), exp.LT(this=ts.copy(), expression=valid_to)
        else:
            end = b.cast(exp.Add(this=ts, expression=interval(1, grain)), "TIMESTAMP")
            starts, ends = exp.LT(this=valid_from, expression=end), exp.GTE(this=valid_to, expression=end.copy())
        open_ended = exp.Is(this=valid_to.copy(), expression=exp.Null())
        # nodes built here, not exp.and_/or_/paren: those deep-copy their operands (a fifth of a joined compile)
        return exp.And(this=starts, expression=exp.Paren(this=exp.Or(this=open_ended, expression=ends)))
