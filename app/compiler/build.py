"""Small sqlglot builders that neither copy nor parse: trees are assembled from nodes only.

sqlglot's fluent builders copy their receiver and parse string arguments by default; on the
request path that is most of the compile time, so the compiler builds nodes directly.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlglot import exp

_TYPES: dict[str, exp.DataType] = {}


def cast(expression: exp.Expr, kind: str) -> exp.Cast:
    """CAST without re-parsing the type name each time (DataType.build tokenizes its argument); a plain type
    is a new node of its kind (a copy of a built one costs fifty times more)."""
    to = _TYPES.get(kind)
    if to is None:
        to = _TYPES[kind] = exp.DataType.build(kind)
    plain = not to.expressions and not to.args.get("nested") and set(to.args) <= {"this", "expressions", "nested"}
    return exp.Cast(this=expression, to=exp.DataType(this=to.this, nested=False) if plain else to.copy())


def date_trunc(expression: exp.Expr, unit: str) -> exp.DateTrunc:
    """DATE_TRUNC('unit', expression) (sqlglot's DateTrunc constructor is not annotated)."""
    return exp.DateTrunc(this=expression, unit=exp.var(unit.upper()))  # type: ignore[no-untyped-call]


def ident(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def col(name: str, table: str | None = None) -> exp.Column:
    return exp.Column(this=ident(name), table=ident(table) if table else None)


def table(name: str, alias: str | None = None) -> exp.Table:
    """A table or CTE by name; ``schema.table`` is split."""
    db, _, base = name.rpartition(".")
    node = exp.Table(this=ident(base), db=ident(db) if db else None)
    if alias:
        node.set("alias", exp.TableAlias(this=ident(alias)))
    return node


def alias(expression: exp.Expr, name: str) -> exp.Alias:
    return exp.Alias(this=expression, alias=ident(name))


def eq(a: exp.Expr, b: exp.Expr) -> exp.EQ:
    return exp.EQ(this=a, expression=b)


def and_(conditions: Iterable[exp.Expr]) -> exp.Expr | None:
    items = list(conditions)
    if not items:
        return None
    out = items[0]
    for item in items[1:]:
        out = exp.And(this=out, expression=item)
    return out


def select(
    fields: Iterable[exp.Expr],
    source: exp.Expr,
    *,
    where: Iterable[exp.Expr] = (),
    group_by: Iterable[exp.Expr] = (),
    joins: Iterable[exp.Join] = (),
    qualify: exp.Expr | None = None,
    distinct: bool = False,
) -> exp.Select:
    node = exp.Select(expressions=list(fields))
    node.set("from_", exp.From(this=source))
    joined = list(joins)
    if joined:
        node.set("joins", joined)
    condition = and_(where)
    if condition is not None:
        node.set("where", exp.Where(this=condition))
    groups = list(group_by)
    if groups:
        node.set("group", exp.Group(expressions=groups))
    if qualify is not None:
        node.set("qualify", exp.Qualify(this=qualify))
    if distinct:
        node.set("distinct", exp.Distinct())
    return node


def join(source: exp.Expr, on: exp.Expr | None = None, *, side: str | None = None, kind: str | None = None) -> exp.Join:
    node = exp.Join(this=source)
    if on is not None:
        node.set("on", on)
    if side:
        node.set("side", side)
    if kind:
        node.set("kind", kind)
    return node


def with_ctes(query: exp.Select, ctes: list[tuple[str, exp.Expr]]) -> exp.Select:
    if ctes:
        query.set(
            "with_",
            exp.With(expressions=[exp.CTE(this=body, alias=exp.TableAlias(this=ident(name))) for name, body in ctes]),
        )
    return query
