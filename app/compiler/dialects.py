"""A compiled tree as each engine's SQL text: its bound-parameter markers and the rewrites a dialect needs.

sqlglot does the dialect work; what is here is what it leaves to us: a set-returning function where
DuckDB unnests a list (PostgreSQL), Spark's truncation and generators, BigQuery's Sunday weeks, and psycopg
reading every ``%`` as a marker.
"""

from __future__ import annotations

import uuid

from sqlglot import exp

from app.compiler import build

# The engines queries run on, and every dialect ``tapflow compile`` and ``/sql`` render for.
ENGINES = ("duckdb", "postgres", "spark")
SPARK_ESCAPE = "\x1f"  # LIKE ... ESCAPE on Spark: one character, none a pattern holds
DIALECTS = ("duckdb", "snowflake", "bigquery", "postgres", "spark", "trino", "databricks", "redshift")


def render(tree: exp.Expr, dialect: str, *, pretty: bool = False, bound: bool = True) -> str:
    """``tree`` as ``dialect``'s text; its placeholders are the dialect's bound parameters (DuckDB ``$name``,
    psycopg ``%(name)s``, Spark ``:name``). ``bound=False``: text to read or paste (values written in), with
    none of psycopg's escapes."""
    tree = rewritten(tree, dialect)
    if dialect != "postgres" or not bound:
        return tree.sql(dialect=dialect, pretty=pretty, copy=False)
    # psycopg treats every % of the text as a marker: literal ones (LIKE '%a') are doubled, markers written after
    token = uuid.uuid4().hex
    marked = tree.transform(lambda n: exp.var(f"{token}{n.this}{token}") if isinstance(n, exp.Placeholder) else n)
    text = marked.sql(dialect=dialect, pretty=pretty, copy=False).replace("%", "%%")
    parts = text.split(token)  # name between each pair of tokens
    return "".join(f"%({part})s" if i % 2 else part for i, part in enumerate(parts))


def rewritten(tree: exp.Expr, dialect: str) -> exp.Expr:
    """A copy of ``tree`` with what ``dialect`` needs rewritten, at every depth (a node inside a rewritten one
    is rewritten too: the spine's bounds truncate a truncated bound)."""
    fix = {"postgres": _for_postgres, "spark": _for_spark, "bigquery": _iso_week_for_bigquery}.get(dialect)
    out = tree.copy()
    if fix is None:
        return out
    for node in list(out.walk()):
        new = fix(node)
        if new is node:
            continue
        if node is out:
            out = new
        else:
            node.replace(new)
    return out


def _for_postgres(node: exp.Expr) -> exp.Expr:
    """PostgreSQL's generate_series is a set-returning function itself: ``UNNEST(GENERATE_SERIES(..))`` of
    DuckDB's list is ``GENERATE_SERIES(..)`` there. Its LIKE reads a backslash as an escape, DuckDB's does
    not: ``ESCAPE ''`` makes every character of a pattern mean itself there too."""
    if (
        isinstance(node, exp.Unnest)
        and len(node.expressions) == 1
        and isinstance(node.expressions[0], exp.GenerateSeries)
    ):
        return node.expressions[0]
    if isinstance(node, exp.Like | exp.ILike) and not isinstance(node.parent, exp.Escape):
        return exp.Escape(this=node.copy(), expression=exp.Literal.string(""))
    return node


def _for_spark(node: exp.Expr) -> exp.Expr:
    """Spark's TRUNC(date, unit) knows no DAY or HOUR (it answers NULL): periods are cut by DATE_TRUNC, which
    knows every unit. Its LIKE escapes with a backslash and wants no escape to be one character: the unit
    separator (U+001F), which no pattern a person types holds, so a backslash means itself. A generator may
    not sit inside an expression: ``CAST(EXPLODE(SEQUENCE(lo, hi)) AS t)`` is
    ``EXPLODE(SEQUENCE(CAST(lo AS t), CAST(hi AS t)))``."""
    if isinstance(node, exp.DateTrunc):
        return exp.TimestampTrunc(this=node.this, unit=node.args.get("unit"))
    if isinstance(node, exp.Like | exp.ILike) and not isinstance(node.parent, exp.Escape):
        return exp.Escape(this=node.copy(), expression=exp.Literal.string(SPARK_ESCAPE))
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Unnest):
        inner = node.this.expressions[0] if len(node.this.expressions) == 1 else None
        if isinstance(inner, exp.GenerateSeries):
            for bound in ("start", "end"):
                inner.set(bound, exp.Cast(this=inner.args[bound], to=node.args["to"].copy()))
            return node.this
    return node


def _iso_week_for_bigquery(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.DateTrunc) and node.unit and node.unit.name.upper() == "WEEK":
        return build.date_trunc(node.this, "ISOWEEK")
    return node
