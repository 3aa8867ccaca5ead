"""The ``where`` allow-list: parse a caller's boolean expression and accept only safe nodes.

Accepted: dimensions of the metric (by name or relationship path), literals (strings, numbers,
booleans, NULL, ``DATE '...'``/``TIMESTAMP '...'``), comparisons, AND/OR/NOT, IN lists,
BETWEEN, IS [NOT] NULL, LIKE/ILIKE. Anything else is an InvalidQuery naming the fragment.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection

from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from app.definitions.diagnostics import did_you_mean
from app.definitions.expressions import parse_duckdb
from app.errors import InvalidQuery

CONNECTIVES = (exp.And, exp.Or, exp.Not, exp.Paren)
COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Like, exp.ILike, exp.Is, exp.In, exp.Between)
LITERALS = (exp.Literal, exp.Boolean, exp.Null)
# DATE '...' and TIMESTAMP '...' (which sqlglot reads as TIMESTAMPNTZ in DuckDB's dialect)
CAST_TYPES = {exp.DataType.Type.DATE, exp.DataType.Type.TIMESTAMP, exp.DataType.Type.TIMESTAMPNTZ}


def dimension_name(column: exp.Column) -> str:
    """``team.customer.sales_region`` from the Column sqlglot parses it into."""
    return ".".join(part.name for part in column.parts)


def parse_where(text: str, allowed: Collection[str]) -> exp.Expr:
    """Parse and vet ``text``; return the tree (its columns still name dimensions).

    Its length and nesting were checked against the service's limits when the query was made
    (``MetricQuery.within``); a tree too deep to walk is refused here all the same.
    """
    tree = parse_raw(text)
    try:
        _vet(tree, allowed)
    except RecursionError:
        raise InvalidQuery("where is nested too deeply; simplify it.") from None
    if not isinstance(tree, CONNECTIVES + COMPARISONS) and not isinstance(tree, exp.Boolean):
        raise InvalidQuery(f"where must be a condition such as customer_tier = 'growth'; got {_frag(tree)}.")
    return tree


def parse_raw(text: str) -> exp.Expr:
    """Parse ``text`` as one expression, without the allow-list."""
    try:
        statements = parse_duckdb(text)
    except RecursionError:
        raise InvalidQuery("where is nested too deeply; simplify it.") from None
    except (ParseError, TokenError) as exc:
        first = str(exc).splitlines()[0][:300]
        raise InvalidQuery(f"where is not a valid SQL boolean expression: {first}") from None
    found = [s for s in statements if s is not None]
    if len(found) != 1:
        raise InvalidQuery("where must be a single boolean expression, not several statements.")
    return found[0]


def _vet(node: exp.Expr, allowed: Collection[str]) -> None:
    if node.comments:
        raise InvalidQuery("where must not contain comments.")
    if isinstance(node, exp.Column):
        if isinstance(node.this, exp.Star):
            raise InvalidQuery("where must not use '*'.")
        name = dimension_name(node)
        if name not in allowed:
            raise InvalidQuery(
                f"where refers to '{name}', which is not a dimension of the requested metric(s). "
                + did_you_mean(name, allowed)
            )
        return
    if isinstance(node, exp.Literal) and node.is_number and not math.isfinite(float(node.this)):
        raise InvalidQuery(f"where holds the number {_frag(node)}, which is out of range; write a finite number.")
    if isinstance(node, LITERALS):
        return
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal) and node.this.is_number:
        _vet(node.this, allowed)
        return
    if isinstance(node, exp.Cast):
        to = node.args.get("to")
        if isinstance(node.this, exp.Literal) and node.this.is_string and to is not None and to.this in CAST_TYPES:
            return
        raise InvalidQuery(f"where may only write typed literals as DATE '...' or TIMESTAMP '...'; got {_frag(node)}.")
    if isinstance(node, exp.In):
        if node.args.get("query") or node.args.get("unnest") or node.args.get("field"):
            raise InvalidQuery(f"IN takes a list of literals, not a subquery; got {_frag(node)}.")
        if not node.expressions:
            raise InvalidQuery("IN needs at least one value, e.g. customer_tier IN ('growth', 'enterprise').")
        for value in node.expressions:
            if not _is_value(value):
                raise InvalidQuery(f"IN lists may hold only literals; got {_frag(value)}.")
        _vet(node.this, allowed)
        return
    if isinstance(node, exp.Is):
        if not isinstance(node.expression, exp.Null | exp.Boolean):
            raise InvalidQuery(f"IS takes NULL, TRUE or FALSE; got {_frag(node)}.")
    elif isinstance(node, exp.Like | exp.ILike):
        if node.args.get("escape"):
            raise InvalidQuery("LIKE ... ESCAPE is not supported in where.")
    elif not isinstance(node, CONNECTIVES + COMPARISONS):
        raise InvalidQuery(
            f"where may not contain {_frag(node)}: only dimensions, literals, comparisons, AND/OR/NOT, "
            "IN lists, BETWEEN, IS [NOT] NULL and LIKE/ILIKE are allowed."
        )
    for child in node.iter_expressions():
        _vet(child, allowed)
    if isinstance(node, COMPARISONS) and not isinstance(node, exp.Is):  # each side vetted: now their shape
        for side in (node.this, *(node.args.get(k) for k in ("expression", "low", "high"))):
            if side is not None and not _is_operand(side):
                raise InvalidQuery(
                    f"A comparison compares a dimension with a literal or with another dimension; got {_frag(node)}."
                )


def _is_operand(node: exp.Expr) -> bool:
    while isinstance(node, exp.Paren):
        node = node.this
    return isinstance(node, exp.Column) or _is_value(node)


def _is_value(node: exp.Expr) -> bool:
    if isinstance(node, LITERALS):
        return True
    if isinstance(node, exp.Neg):
        return isinstance(node.this, exp.Literal) and node.this.is_number
    if isinstance(node, exp.Cast):
        return (
            isinstance(node.this, exp.Literal)
            and node.args.get("to") is not None
            and node.args["to"].this in CAST_TYPES
        )
    return False


def _frag(node: exp.Expr) -> str:
    text = node.sql(dialect="duckdb")
    return repr(text if len(text) <= 120 else text[:117] + "...")


def resolve_where(tree: exp.Expr, column_of: Callable[[str], exp.Expr]) -> exp.Expr:
    """A copy of a vetted tree with each dimension replaced by its SQL column."""

    def swap(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Column):
            return column_of(dimension_name(node))
        return node

    return tree.copy().transform(swap, copy=False)
