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
AWARE_TIMESTAMPS = frozenset({"TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ"})
DATE_GRAINS = frozenset({"day", "week", "month", "quarter", "year"})


def stored_timestamps(table: BoundTable) -> tuple[str, ...]:
    """The columns of ``table`` holding instants (TIMESTAMP in UTC, or TIMESTAMP WITH TIME ZONE): from the
    database's types, or without a database its declared time columns unless its rows are days or coarser
    (a guess: ``tapflow compile`` without a database cannot tell a DATE from a TIMESTAMP)."""
    if table.types is not None:
        kinds = NAIVE_TIMESTAMPS | AWARE_TIMESTAMPS
        return tuple(sorted(c for c, kind in table.types.items() if kind.upper() in kinds))
    if table.finest_grain in DATE_GRAINS or table.spec.grain in DATE_GRAINS:
        return ()
    declared = (table.spec.timestamp, table.spec.valid_to or ("valid_to" if table.key == "history" else None))
    return tuple(c for c in declared if c)


def stored(column: exp.Column, table: BoundTable, calendar: Calendar) -> exp.Column:
    """The instant a localized column holds, in UTC (``__utc_<column>``); the column itself otherwise."""
    if calendar.zone is None or column.name not in stored_timestamps(table):
        return column
    return b.col(UTC_COPY + column.name, column.table or None)


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
        if table is None or not stored_timestamps(table):
            continue
        cte = "__local_" + name.replace(".", "__")
        if cte not in ctes:
            ctes[cte] = _wall_time(table, calendar.zone)
        node.replace(b.table(cte, node.alias or node.name))  # columns keep their qualifier
    if ctes:
        known = tree.args.get("with_")
        own = [exp.CTE(this=body, alias=exp.TableAlias(this=b.ident(name))) for name, body in ctes.items()]
        tree.set("with_", exp.With(expressions=own + (list(known.expressions) if known else [])))
    return tree


def _wall_time(table: BoundTable, zone: str) -> exp.Select:
    """The table with each instant column as the zone's wall time (a TIMESTAMP), and beside it its UTC value
    as ``__utc_<column>``: every column listed where the database's types are known (any dialect), else
    DuckDB's ``* REPLACE``."""
    columns = stored_timestamps(table)
    aware = {c for c, kind in (table.types or {}).items() if kind.upper() in AWARE_TIMESTAMPS}

    def wall(c: str) -> exp.Expr:
        if c in aware:
            return exp.AtTimeZone(this=b.col(c), zone=exp.Literal.string(zone))
        return Calendar(zone).local(b.col(c))

    def utc(c: str) -> exp.Expr:
        return exp.AtTimeZone(this=b.col(c), zone=exp.Literal.string("UTC")) if c in aware else b.col(c)

    copies = [b.alias(utc(c), UTC_COPY + c) for c in columns]
    if table.types is not None:
        fields = [b.alias(wall(c), c) if c in columns else b.col(c) for c in table.types]
        return b.select([*fields, *copies], b.table(table.name))
    star = exp.Star(replace=[b.alias(wall(c), c) for c in columns])
    return b.select([star, *copies], b.table(table.name))


def _by_name(project: Project) -> dict[str, BoundTable]:
    known: dict[str, BoundTable] | None = project.cache.get("tables_by_name")
    if known is None:
        known = project.cache["tables_by_name"] = {t.name.lower(): t for t in project.tables.values()}
    return known
