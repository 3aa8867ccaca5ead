"""SQL inside definitions: parsing (cached), dbt's ``{{ metric('x') }}`` calls, and literal checks."""

from __future__ import annotations

import re
import threading
from functools import lru_cache

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError
from sqlglot.parser import Parser
from sqlglot.tokens import Tokenizer

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
        statements = parse_duckdb(sql)
    except TokenError as err:  # an unclosed quote or comment: a parse error like any other
        raise ParseError(str(err).splitlines()[0][:200]) from None
    except RecursionError:
        raise ParseError("the expression is nested too deeply to read; simplify it") from None
    found = [s for s in statements if s is not None]
    if not found:
        raise ParseError("empty expression")
    if len(found) > 1:
        raise ParseError(f"one expression is expected, not {len(found)} statements separated by ';'")
    return found[0]


class _Reader(threading.local):
    """A thread's DuckDB tokenizer and parser: sqlglot makes new ones on every call, and each resets itself
    before reading."""

    def __init__(self) -> None:
        dialect = Dialect.get_or_raise("duckdb")
        self.tokenizer: Tokenizer = dialect.tokenizer()
        self.parser: Parser = dialect.parser()


_READER = _Reader()


def parse_duckdb(sql: str) -> list[exp.Expr | None]:
    """``sqlglot.parse(sql, dialect="duckdb")``, without the token positions the parser keeps on literals and
    identifiers (nothing reads them; copying a tree copies each as a dict, two thirds of the copy's time)."""
    statements = _READER.parser.parse(_READER.tokenizer.tokenize(sql), sql)
    for tree in statements:
        for node in tree.walk() if tree is not None else ():
            node._meta = None
    return statements


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
