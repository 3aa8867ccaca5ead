"""A compiled tree as each engine's SQL text: its bound-parameter markers and the rewrites a dialect needs.

sqlglot does the dialect work; what is here is what it leaves to us: a set-returning function where
DuckDB unnests a list (PostgreSQL), Spark's truncation and generators, BigQuery's Sunday weeks, and psycopg
reading every ``%`` as a marker.
"""

from __future__ import annotations

import uuid

import sqlglot
from sqlglot import exp

from app.compiler import build
from app.errors import Unsupported

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
    for node in reversed(list(out.walk(bfs=False))):  # a node's descendants before it: it keeps their rewrites
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
    not: ``ESCAPE ''`` makes every character of a pattern mean itself there too. What engineers write in
    builds: ``GROUP BY ALL`` (DuckDB's: every selected column without an aggregate) is those columns' positions;
    ``ROUND(x, n)`` is DuckDB's, for doubles too (_rounded_as_duckdb)."""
    if isinstance(node, exp.Group) and node.args.get("all") and isinstance(node.parent, exp.Select):
        grouped = _grouped_by_position(node.parent)
        if grouped is None:  # aggregates only: one row, as without GROUP BY
            node.parent.set("group", None)
            return node
        return grouped
    if isinstance(node, exp.Round):
        return _rounded_as_duckdb(node)
    unnested = (
        node.expressions if isinstance(node, exp.Unnest) else [node.this] if isinstance(node, exp.Explode) else []
    )
    if len(unnested) == 1 and isinstance(unnested[0], exp.GenerateSeries):  # Explode: an engineer's unnest()
        return unnested[0]
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


# DuckDB rounds from a double's exact binary value, ties away from zero: 24.45 is 24.4499999999999993 there, so
# 24.4 to one place; PostgreSQL has no ROUND(double, n), and a double cast to NUMERIC keeps 15 digits (24.45, so
# 24.5), while its ROUND(double) breaks ties to even. So v = |x| * 10^n is computed in x's own type with its
# exact rounding error (Dekker's product: 10^n has at most 24 bits and x is split into halves of 26 bits, so
# every partial product is exact; in NUMERIC every step is exact and the error 0): a v that lands on a tie goes
# the way its error says. The result has x's type (a NUMERIC stays one), windows and aggregates in x work, and a
# double too large to split is left as it is (DuckDB answers it unchanged too).
_ROUND = """
CASE WHEN ABS(__x__) >= 1e300 THEN __x__
     WHEN ABS(__x__) * __m__ - FLOOR(ABS(__x__) * __m__) > 0.5
          THEN SIGN(__x__) * (FLOOR(ABS(__x__) * __m__) + 1) / __m__
     WHEN ABS(__x__) * __m__ - FLOOR(ABS(__x__) * __m__) < 0.5
          THEN SIGN(__x__) * FLOOR(ABS(__x__) * __m__) / __m__
     WHEN (__hi__ * __m__ - ABS(__x__) * __m__) + (ABS(__x__) - __hi__) * __m__ < 0
          THEN SIGN(__x__) * FLOOR(ABS(__x__) * __m__) / __m__
     ELSE SIGN(__x__) * (FLOOR(ABS(__x__) * __m__) + 1) / __m__ END
"""
_ROUND_TREE = sqlglot.parse_one(_ROUND, dialect="postgres")
_HALF = sqlglot.parse_one(  # Veltkamp's split of a = ABS(x): its upper 26 bits, in a's type (NUMERIC: a itself)
    "(ABS(__x__) * 0.0 + 134217729) * ABS(__x__) - ((ABS(__x__) * 0.0 + 134217729) * ABS(__x__) - ABS(__x__))",
    dialect="postgres",
)


def _rounded_as_duckdb(node: exp.Round) -> exp.Expr:
    """``ROUND(x, n)`` as DuckDB computes it (see _ROUND), for 0 <= n <= 7 places; others as NUMERIC."""
    decimals = node.args.get("decimals") or exp.Literal.number(0)
    if not (isinstance(decimals, exp.Literal) and decimals.is_int and 0 <= int(decimals.name) <= 7):
        return exp.Round(this=exp.Cast(this=node.this, to=exp.DataType.build("NUMERIC")), decimals=decimals)
    values: dict[str, exp.Expr] = {
        "__x__": exp.Paren(this=node.this),
        "__m__": exp.Literal.number(10 ** int(decimals.name)),
    }
    values["__hi__"] = exp.Paren(this=_filled(_HALF, values))
    return exp.Paren(this=_filled(_ROUND_TREE, values))


def _filled(tree: exp.Expr, values: dict[str, exp.Expr]) -> exp.Expr:
    """``tree`` with each ``__name__`` column replaced by a copy of its value."""

    def put(part: exp.Expr) -> exp.Expr:
        found = values.get(part.name) if isinstance(part, exp.Column) else None
        return found.copy() if found is not None else part

    return tree.transform(put)


def _grouped_by_position(select: exp.Select) -> exp.Group | None:
    """``GROUP BY 1, 3``: the positions of the selected columns holding no aggregate nor window (none: one row
    of aggregates, no GROUP BY at all). A ``*`` hides which columns there are: refused, saying so."""
    if any(isinstance(c, exp.Star) or (isinstance(c, exp.Column) and c.is_star) for c in select.expressions):
        raise Unsupported(
            "GROUP BY ALL over SELECT * cannot be written for PostgreSQL, which has no GROUP BY ALL: "
            "name the selected columns, or group by them."
        )
    keys = [
        exp.Literal.number(i)
        for i, column in enumerate(select.expressions, start=1)
        if not any(isinstance(n, exp.AggFunc | exp.Window) for n in column.walk())
    ]
    return exp.Group(expressions=keys) if keys else None


def _iso_week_for_bigquery(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.DateTrunc) and node.unit and node.unit.name.upper() == "WEEK":
        return build.date_trunc(node.this, "ISOWEEK")
    return node
