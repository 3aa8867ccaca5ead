"""SQL inside definitions: parsing (cached), dbt's ``{{ metric('x') }}`` calls, and literal checks."""

from __future__ import annotations

import re
from functools import lru_cache

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

METRIC_CALL = re.compile(r"""\{\{\s*metric\(\s*['"]([a-z][a-z0-9_]*)['"]\s*\)\s*\}\}""")


def derived_sql(expression: str) -> str:
    """Replace dbt's ``{{ metric('x') }}`` with the bare name ``x``.

    >>> derived_sql("{{ metric('mrr') }} / nullif({{metric('customers')}}, 0)")
    'mrr / nullif(customers, 0)'
    """
    return METRIC_CALL.sub(lambda m: m.group(1), expression)


def parse_expression(sql: str) -> exp.Expr:
    """Parse a definition expression (DuckDB dialect); raises ParseError. Returns a fresh copy
    (parses are cached: definitions repeat the same expressions on every query)."""
    return _parse_cached(sql).copy()


@lru_cache(maxsize=4096)
def _parse_cached(sql: str) -> exp.Expr:
    try:
        tree = sqlglot.parse_one(sql, dialect="duckdb")
    except TokenError as err:  # an unclosed quote or comment: a parse error like any other
        raise ParseError(str(err).splitlines()[0][:200]) from None
    except RecursionError:
        raise ParseError("the expression is nested too deeply to read; simplify it") from None
    if tree is None:
        raise ParseError("empty expression")
    return tree


def is_literal(tree: exp.Expr) -> bool:
    """A constant: a literal, boolean or NULL, possibly parenthesized, negated, cast or in a tuple.

    >>> is_literal(parse_expression("('a', -1, CAST('2025-01-01' AS DATE))"))
    True
    >>> is_literal(parse_expression("status"))
    False
    """
    if isinstance(tree, exp.Paren | exp.Neg | exp.Cast):
        return is_literal(tree.this)
    if isinstance(tree, exp.Tuple):
        return all(is_literal(e) for e in tree.expressions)
    return isinstance(tree, exp.Literal | exp.Boolean | exp.Null)
