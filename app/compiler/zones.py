"""Reading tables in a time zone: the tables a query reads, with their timestamps as the zone's wall time.

Timestamps are stored in UTC (naive TIMESTAMP). In a zone, every table the compiled query reads that has
such columns is read through a CTE in which each of them is the zone's wall time (DuckDB's ICU does the
conversion; sqlglot writes each dialect's form), with its stored value beside it as ``__utc_<column>`` for
hour keys. Every comparison of the plan (bounds, as-of joins to histories, the end of the data) then happens
in wall time. DATE columns are never shifted.
"""

from __future__ import annotations

from sqlglot import exp

from app.compiler import build as b
from app.compiler.periods import UTC_COPY, Calendar
from app.definitions.project import BoundTable, Project

NAIVE_TIMESTAMPS = frozenset({"TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "DATETIME"})
DATE_GRAINS = frozenset({"day", "week", "month", "quarter", "year"})


def stored_timestamps(table: BoundTable) -> tuple[str, ...]:
    """The columns of ``table`` holding UTC instants (naive TIMESTAMPs): from the database's types, or
    without a database its declared time columns unless its rows are days or coarser."""
    if table.types is not None:
        return tuple(sorted(c for c, kind in table.types.items() if kind.upper() in NAIVE_TIMESTAMPS))
    if table.finest_grain in DATE_GRAINS or table.spec.grain in DATE_GRAINS:
        return ()
    return tuple(c for c in (table.spec.timestamp, table.spec.valid_to) if c)


def localize(tree: exp.Select, project: Project, calendar: Calendar) -> exp.Select:
    """``tree`` (changed in place) reading each table with stored timestamps through a CTE of it in
    ``calendar``'s zone; unchanged in UTC."""
    if calendar.zone is None:
        return tree
    tables = _by_name(project)
    ctes: dict[str, exp.Expr] = {}
    for node in list(tree.find_all(exp.Table)):
        if not node.args.get("db"):
            continue
        name = f"{node.db}.{node.name}".lower()
        table = tables.get(name)
        columns = stored_timestamps(table) if table is not None else ()
        if not columns:
            continue
        cte = "__local_" + name.replace(".", "__")
        if cte not in ctes:
            ctes[cte] = _wall_time(name, columns, calendar)
        node.replace(b.table(cte, node.alias or node.name))  # columns keep their qualifier
    if ctes:
        known = tree.args.get("with_")
        own = [exp.CTE(this=body, alias=exp.TableAlias(this=b.ident(name))) for name, body in ctes.items()]
        tree.set("with_", exp.With(expressions=own + (list(known.expressions) if known else [])))
    return tree


def _wall_time(name: str, columns: tuple[str, ...], calendar: Calendar) -> exp.Select:
    """``SELECT * REPLACE (<wall time of c> AS c, ...), c AS __utc_c, ... FROM name``."""
    replace = [b.alias(calendar.local(b.col(c)), c) for c in columns]
    star = exp.Star(replace=replace)
    return b.select([star, *(b.alias(b.col(c), UTC_COPY + c) for c in columns)], b.table(name))


def _by_name(project: Project) -> dict[str, BoundTable]:
    known: dict[str, BoundTable] | None = project.cache.get("tables_by_name")
    if known is None:
        known = project.cache["tables_by_name"] = {t.name.lower(): t for t in project.tables.values()}
    return known
