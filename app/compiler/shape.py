"""A query's shape and its values: compiled SQL is cached by shape, values are bound as parameters.

Two queries that differ only in literal values (a filter value, the start and end dates, the
limit) share one shape, so the second reuses the first's SQL text and only binds new values;
DuckDB receives them as named parameters (``$p0``, ``$start``, ...), never spliced into text.

An IN list of values is padded to the next power of two by repeating its last value (``IN ('a', 'b', 'c')``
runs as ``IN ($p0, $p1, $p2, $p3)`` with ``p3 = 'c'``): the same rows, on every engine, and a dashboard's
multi-select of 3 to 200 values compiles 8 shapes, not 198 (Hibernate's ``in_clause_parameter_padding``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlglot import exp

from app.compiler.filters import parse_where
from app.compiler.query import MetricQuery

ShapeKey = tuple[object, ...]


@dataclass
class Shape:
    key: ShapeKey
    where: exp.Expr | None  # the where tree with placeholders in place of literal values
    params: dict[str, Any] = field(default_factory=dict)


def placeholder(name: str) -> exp.Placeholder:
    return exp.Placeholder(this=name)


def shape_of(query: MetricQuery, allowed: set[str]) -> Shape:
    """Split a query into its shape (the cache key) and its parameter values; the where clause is
    vetted against ``allowed`` first, whether or not the shape was seen before."""
    params: dict[str, Any] = {}
    where = None
    if query.where:
        tree = parse_where(query.where, allowed)
        lifted = iter(range(10**9))  # p0, p1, ... in the order the values are met
        where = tree.transform(lambda node: _lift(node, params, lifted), copy=False)
    if query.start is not None:
        params["start"] = _time_value(query.start)
    if query.end is not None:
        params["end"] = _time_value(query.end)
    if query.limit is not None:
        params["lim"] = query.limit + 1  # one more than asked, so a truncated answer can be told apart
    params["off"] = query.offset
    # every other field of the query is shape: a new query parameter is part of the key by itself
    bound = {
        "where": where,  # compared and hashed by structure (placeholders named in order): no SQL generated
        "start": kind_of(query.start),
        "end": kind_of(query.end),
        "limit": query.limit is None,
        "offset": None,
    }
    key = tuple((name, bound[name] if name in bound else getattr(query, name)) for name in type(query).model_fields)
    return Shape(key, where, params)


def kind_of(value: date | datetime | None) -> str | None:
    if value is None:
        return None
    return "timestamp" if isinstance(value, datetime) else "date"


def _time_value(value: date | datetime) -> str:
    return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()


def _lift(node: exp.Expr, params: dict[str, Any], lifted: Iterator[int]) -> exp.Expr:
    """Replace a literal value by a named placeholder (booleans and NULL stay: they are shape). An IN list of
    literals is lifted and padded at once, into a new node (whose placeholders the walk then skips); another IN
    list of plain values is padded, and its values lifted one by one."""
    if isinstance(node, exp.In):
        items = node.expressions
        if all(isinstance(item, exp.Literal) for item in items):
            placeholders = [_placeholder(item, params, lifted) for item in items]
            last = params[placeholders[-1].this]
            for _ in range(_padded(len(items)) - len(items)):
                name = f"p{next(lifted)}"
                params[name] = last
                placeholders.append(placeholder(name))
            return exp.In(**{**node.args, "expressions": placeholders})
        _pad(node)
        return node
    if isinstance(node, exp.Literal):
        return _placeholder(node, params, lifted)
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Placeholder):
        name = node.this.this
        params[name] = -params[name]
        return node.this
    return node


def _placeholder(literal: exp.Literal, params: dict[str, Any], lifted: Iterator[int]) -> exp.Placeholder:
    name = f"p{next(lifted)}"
    params[name] = literal.this if literal.is_string else _number(literal.this)
    return placeholder(name)


def _pad(node: exp.In) -> None:
    """Repeat the last value of an IN list of plain values until its length is a power of two."""
    items = node.expressions
    if len(items) < 2 or not all(_plain(item) for item in items):
        return
    node.set("expressions", [*items, *(_again(items[-1]) for _ in range(_padded(len(items)) - len(items)))])


def _padded(length: int) -> int:
    """The next power of two (a list of one stays one)."""
    return 1 << (length - 1).bit_length()


def _plain(item: exp.Expr) -> bool:
    """A value lifted into a placeholder: a string or number literal, or a negative number."""
    return isinstance(item, exp.Literal) or (isinstance(item, exp.Neg) and isinstance(item.this, exp.Literal))


def _again(item: exp.Expr) -> exp.Expr:
    """A new node of the same plain value (``copy`` deep-copies through the copy module: ten times slower)."""
    if isinstance(item, exp.Neg):
        return exp.Neg(this=_again(item.this))
    return exp.Literal(this=item.this, is_string=item.is_string)


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        return float(text)
