"""The SQL of a build, as sqlglot trees: the rows of one batch for each kind (sql, scd2, snapshot), and the
statements that replace a batch's rows. Names come from definitions checked against the catalog and reach
SQL as quoted identifiers; the batch bounds are the bound parameters ``$start`` and ``$end``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlglot
from sqlglot import exp

from app.definitions.builds import SNAPSHOT

BOUNDS = ("start", "end")


def ident(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def table(name: str, alias: str | None = None) -> exp.Table:
    """``schema.table`` (or ``table``) as a quoted table reference."""
    parts = name.split(".")
    t = exp.Table(this=ident(parts[-1]), db=ident(parts[-2]) if len(parts) > 1 else None)
    if alias:
        t.set("alias", exp.TableAlias(this=exp.to_identifier(alias)))
    return t


def col(name: str, of: str | None = None) -> exp.Column:
    return exp.Column(this=ident(name), table=exp.to_identifier(of) if of else None)


def param(name: str, kind: str = "TIMESTAMP") -> exp.Expr:
    """``CAST($name AS TIMESTAMP)``: the bounds are timestamps; compared with a DATE column they are cast to
    DATE (exact: day and month batches start at midnight), so DuckDB skips row groups outside the batch."""
    return exp.cast(exp.Placeholder(this=name), kind)


def template(sql: str, **names: str | exp.Expr) -> exp.Expr:
    """Parse ``sql`` and put the given identifiers (quoted) or trees where ``__name__`` stands."""
    tree = sqlglot.parse_one(sql, dialect="duckdb")

    def put(node: exp.Expr) -> exp.Expr:
        name = node.name if isinstance(node, exp.Column | exp.Identifier | exp.Table) else ""
        value = names.get(name[2:-2]) if name.startswith("__") and name.endswith("__") else None
        if value is None:
            return node
        if isinstance(node, exp.Table):
            assert isinstance(value, str)
            return table(value, node.alias or None)
        if isinstance(value, str):
            return ident(value) if isinstance(node, exp.Identifier) else col(value, node.text("table") or None)
        return value.copy()

    return tree.transform(put)


def query(sql: str, **names: str | exp.Expr) -> exp.Query:
    tree = template(sql, **names)
    assert isinstance(tree, exp.Query)
    return tree


def parameters(tree: exp.Expr) -> list[str]:
    """The bounds ``tree`` uses (DuckDB refuses a named parameter it is not given, and one it does not use)."""
    used = {p.name for p in tree.find_all(exp.Placeholder)}
    return [b for b in BOUNDS if b in used]


def _row(columns: Sequence[str], of: str | None = None) -> exp.Expr:
    return exp.Tuple(expressions=[col(c, of) for c in columns]) if columns else exp.null()


def scd2_rows(
    source: str, key: str, updated_at: str, columns: Sequence[str], valid_from: str, valid_to: str, current: str | None
) -> exp.Query:
    """History from a change log: a row per change of ``columns`` (repeats of the same state merged), valid
    from its time to the key's next change (NULL while current)."""
    kept = query(
        "SELECT * FROM (SELECT *, __state__ IS DISTINCT FROM lag(__state__) OVER (PARTITION BY __key__ "
        "ORDER BY __t__) AS changed_ FROM __source__) AS c WHERE changed_",
        state=_row(columns),
        key=key,
        t=updated_at,
        source=source,
    )
    after = template("lead(__t__) OVER (PARTITION BY __key__ ORDER BY __t__)", t=updated_at, key=key)
    select = [col(key), *(col(c) for c in columns)]
    rows = exp.select(*select, col(updated_at).as_(valid_from), after.as_(valid_to)).from_(kept.subquery("k"))
    if not current:
        return rows
    is_current = col(valid_to).is_(exp.null()).as_(current)
    return exp.select(exp.Star(), is_current).from_(rows.subquery("h"))


def scd2_merge(
    source: str,
    history: str,
    key: str,
    checks: Sequence[str],
    columns: Sequence[str],
    valid_from: str,
    valid_to: str,
    current: str | None,
) -> list[exp.Expr]:
    """History from successive states: close the current rows whose ``checks`` changed (or whose key left the
    source) at ``$end``, then open a row for every key without a current one."""
    same = query(
        "SELECT 1 FROM __source__ AS s WHERE s.__key__ = __outer__ AND __new__ IS NOT DISTINCT FROM __old__",
        source=source,
        key=key,
        outer=col(key, history.split(".")[-1]),
        new=_row(checks, "s"),
        old=_row(checks, history.split(".")[-1]),
    )
    sets = [exp.EQ(this=col(valid_to), expression=param("end"))]
    if current:
        sets.append(exp.EQ(this=col(current), expression=exp.false()))
    where = exp.and_(col(valid_to).is_(exp.null()), exp.Not(this=exp.Exists(this=same)))
    close = exp.update(table(history), properties={}, where=where)
    close.set("expressions", sets)
    opened = query(
        "SELECT 1 FROM __history__ AS h WHERE h.__key__ = s.__key__ AND h.__valid_to__ IS NULL",
        history=history,
        key=key,
        valid_to=valid_to,
    )
    rows = [col(key, "s"), *(col(c, "s") for c in columns), param("end").as_(valid_from), exp.null().as_(valid_to)]
    if current:
        rows.append(exp.true().as_(current))
    new = exp.select(*rows).from_(table(source, "s")).where(exp.Not(this=exp.Exists(this=opened)))
    return [close, insert(history, new)]


def snapshot_rows(
    history: str, label: str, grain: str, columns: Sequence[str], valid_from: str, valid_to: str
) -> exp.Query:
    """One row per period of ``[$start, $end)`` and history row valid at the period's end: the period's start
    as ``label`` (a DATE, or a TIMESTAMP for hours) and the history's ``columns``."""
    step = exp.Interval(this=exp.Literal.string("1"), unit=exp.var(grain.upper()))
    periods = query(
        "SELECT p AS __start, least(p + __step__, __end__) AS __end "
        "FROM generate_series(__start__, __last__, __step__) AS g(p)",
        start=param("start"),
        end=param("end"),
        last=_last_instant(),
        step=step,
    )
    at = exp.cast(col("__start", "p"), "TIMESTAMP" if grain == "hour" else "DATE").as_(label)
    valid = template(
        "h.__valid_from__ < p.__end AND (h.__valid_to__ IS NULL OR h.__valid_to__ >= p.__end)",
        valid_from=valid_from,
        valid_to=valid_to,
    )
    return (
        exp.select(at, *(col(c, "h") for c in columns)).from_(periods.subquery("p")).join(table(history, "h"), on=valid)
    )


def with_snapshot(snapshot: exp.Query, sql: exp.Query) -> exp.Query:
    """The engineer's ``sql`` reading the snapshot rows as the relation ``snapshot``."""
    return exp.select(exp.Star()).from_(sql.subquery("built")).with_(SNAPSHOT, as_=snapshot)


def within(rows: exp.Query, by: str, kind: str = "TIMESTAMP") -> exp.Query:
    """Only the rows of ``[$start, $end)`` by ``by``: a batch never writes another batch's rows."""
    return exp.select(exp.Star()).from_(rows.subquery("b")).where(in_batch(col(by, "b"), kind))


def in_batch(column: exp.Expr, kind: str = "TIMESTAMP") -> exp.Expr:
    """``[$start, $end)``; for a DATE column, the days from ``$start``'s to the one ``$end`` falls in before its
    last instant (a batch ending at noon keeps its day)."""
    if kind.upper() != "DATE":
        return exp.and_(column.copy() >= param("start"), column.copy() < param("end"))
    return exp.and_(column.copy() >= param("start", "DATE"), column.copy() <= exp.cast(_last_instant(), "DATE"))


def _last_instant() -> exp.Expr:
    """``$end`` less a microsecond: the last instant of ``[$start, $end)`` (generate_series includes its end on
    every engine)."""
    return exp.Sub(
        this=param("end"), expression=exp.Interval(this=exp.Literal.string("1"), unit=exp.var("MICROSECOND"))
    )


def insert(target: str, rows: exp.Query) -> exp.Expr:
    """``INSERT INTO target BY NAME rows``: columns matched by name, so the SELECT's order does not matter."""
    return exp.Insert(this=table(target), expression=rows, by_name=True)


def insert_columns(target: str, rows: exp.Query, columns: Sequence[str]) -> exp.Expr:
    """``INSERT INTO target (columns) SELECT columns FROM (rows)``: BY NAME where an engine has no such thing."""
    named = exp.select(*(col(c, "r") for c in columns)).from_(rows.subquery("r"))
    return exp.Insert(this=exp.Schema(this=table(target), expressions=[ident(c) for c in columns]), expression=named)


def named(statement: exp.Expr, columns: Sequence[str]) -> exp.Expr:
    """``statement`` with an INSERT ... BY NAME written with the target's ``columns``."""
    if not (isinstance(statement, exp.Insert) and statement.args.get("by_name")):
        return statement
    target = statement.this
    assert isinstance(target, exp.Table) and isinstance(statement.expression, exp.Query)
    return insert_columns(".".join(p.name for p in target.parts), statement.expression, columns)


def delete(target: str, by: str | None, kind: str = "TIMESTAMP") -> exp.Expr:
    """The rows a batch replaces: those of its range, or all of them (a full build)."""
    return exp.delete(table(target), where=in_batch(col(by), kind) if by else None)


def bounded(tree: exp.Expr, start: datetime, end: datetime) -> exp.Expr:
    """``tree`` with the bounds written in as TIMESTAMP literals (our own values, for a statement that takes no
    parameters: a CREATE on PostgreSQL)."""
    values = {"start": start, "end": end}

    def put(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Placeholder) and node.name in values:
            return exp.cast(exp.Literal.string(values[node.name].isoformat(sep=" ")), "TIMESTAMP")
        return node

    return tree.transform(put)
