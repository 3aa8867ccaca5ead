"""The allow-list for SQL written inside definitions: definitions are a trust boundary.

A metric's ``expression`` (and a derived metric's, and a filter's value) arrive from files, from
``POST /impact`` and from ``/admin/reload``: anyone who can propose a definition writes SQL the
service will run. Each is parsed by sqlglot and accepted only when every node is a column of the
model, a literal, arithmetic, a comparison, AND/OR/NOT, CASE, a cast, or one of the scalar
functions named here; a subquery, a table function, or any other function (``query``,
``read_text``, ``getenv``, ``glob`` ...) is a problem at load time, so such a definition never loads.
"""

from __future__ import annotations

import re

from sqlglot import exp

STRUCTURE: tuple[type[exp.Expr], ...] = (
    exp.Column,
    exp.Identifier,
    exp.Literal,
    exp.Boolean,
    exp.Null,
    exp.Paren,
    exp.Tuple,  # the values of an IN list
    exp.Neg,
    exp.Add,
    exp.Sub,
    exp.Mul,
    exp.Div,
    exp.IntDiv,
    exp.Mod,
    exp.DPipe,
    exp.EQ,
    exp.NEQ,
    exp.NullSafeEQ,
    exp.NullSafeNEQ,
    exp.GT,
    exp.GTE,
    exp.LT,
    exp.LTE,
    exp.Is,
    exp.In,
    exp.Between,
    exp.Like,
    exp.ILike,
    exp.And,
    exp.Or,
    exp.Not,
    exp.Case,
    exp.If,
    exp.Cast,
    exp.TryCast,
    exp.DataType,
    exp.DataTypeParam,
    exp.Var,  # a unit: date_trunc('month', ...), extract(year from ...)
    exp.Interval,
)

# scalar functions, by sqlglot's class (its name in SQL in the message)
SCALAR_FUNCTIONS: tuple[type[exp.Func], ...] = (
    # null handling, numbers
    exp.Coalesce,
    exp.Nullif,
    exp.Abs,
    exp.Sign,
    exp.Round,
    exp.Trunc,
    exp.Floor,
    exp.Ceil,
    exp.Greatest,
    exp.Least,
    exp.Sqrt,
    exp.Cbrt,
    exp.Ln,
    exp.Log,
    exp.Exp,
    exp.Pow,
    exp.IsNan,
    # text
    exp.Lower,
    exp.Upper,
    exp.Trim,
    exp.Length,
    exp.Substring,
    exp.Concat,
    exp.Left,
    exp.Right,
    exp.Pad,
    exp.Repeat,
    exp.Replace,
    exp.StrPosition,
    exp.SplitPart,
    exp.Contains,
    exp.StartsWith,
    exp.EndsWith,
    exp.Levenshtein,
    exp.RegexpLike,
    exp.RegexpReplace,
    exp.RegexpExtract,
    # time
    exp.DateTrunc,
    exp.TimestampTrunc,
    exp.Extract,
    exp.DateDiff,
    exp.DateAdd,
    exp.DateFromParts,
    exp.Year,
    exp.Quarter,
    exp.Month,
    exp.Week,
    exp.Day,
    exp.DayOfWeek,
    exp.Hour,
    exp.Minute,
    exp.TimeToStr,
    exp.TimeToUnix,
)
WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_LENGTH = 10_000  # repeat/lpad/rpad: strings beyond this exhaust memory DuckDB's limit does not count

FUNCTION_NAMES = (  # the same, as DuckDB spells them (the error message lists them)
    "abs, cbrt, ceil, coalesce, concat, contains, date_add, date_diff, date_trunc, day, dayofweek, ends_with, "
    "epoch, exp, extract, floor, greatest, hour, ifnull, isnan, least, left, length, levenshtein, ln, log, "
    "lower, lpad, make_date, minute, month, nullif, pow, quarter, regexp_extract, regexp_matches, "
    "regexp_replace, repeat, replace, right, round, rpad, sign, split_part, sqrt, starts_with, strftime, "
    "strpos, substring, trim, trunc, upper, week, year"
)


def disallowed(tree: exp.Expr) -> str | None:
    """Why ``tree`` is not allowed in a definition (a sentence naming the fragment), or None.

    Aggregates pass here: where one is wrong, the definition's own check says so more precisely.

    >>> import sqlglot
    >>> disallowed(sqlglot.parse_one("coalesce(quantity, 0) * unit_price"))
    >>> disallowed(sqlglot.parse_one("(SELECT 1)"))
    "a subquery ('(SELECT 1)') is not allowed in a definition"
    """
    for node in tree.walk():
        if isinstance(node, exp.Repeat | exp.Pad):  # a string as long as asked: only a small literal length
            length = node.args.get("times") if isinstance(node, exp.Repeat) else node.expression
            nested = any(isinstance(n, exp.Repeat | exp.Pad) for n in node.this.walk())
            if nested or not (
                isinstance(length, exp.Literal) and length.is_number and float(length.this) <= MAX_LENGTH
            ):
                return (
                    f"{_frag(node)}: the length of repeat and lpad/rpad must be a number of at most {MAX_LENGTH:,}, "
                    "written as a literal, and they do not nest"
                )
        if isinstance(node, exp.Column) and (
            isinstance(node.this, exp.Star) or node.args.get("catalog") or node.args.get("db")
        ):
            return f"{_frag(node)} is not a column of the model"
        if isinstance(node, exp.Var) and not WORD.fullmatch(node.name):  # printed as written: only a word
            return f"{_frag(node)}: a unit (such as month or epoch) must be a single word"
        if isinstance(node, exp.DataType) and (
            node.this == exp.DataType.Type.USERDEFINED or node.args.get("kind") is not None
        ):
            return f"{_frag(node)}: cast to a built-in type (such as varchar, integer, decimal(10, 2), date)"
        if isinstance(node, STRUCTURE + SCALAR_FUNCTIONS + (exp.AggFunc,)):
            continue
        if isinstance(node, exp.Subquery | exp.Query | exp.Exists):
            return f"a subquery ({_frag(node)}) is not allowed in a definition"
        if isinstance(node, exp.Func):
            name = node.name if isinstance(node, exp.Anonymous) else node.sql_name().lower()
            return (
                f"function '{name}' is not allowed in a definition; allowed: columns of the model, literals, "
                f"arithmetic, comparisons, AND/OR/NOT, CASE, CAST and {FUNCTION_NAMES}"
            )
        return f"{_frag(node)} is not allowed in a definition"
    return None


def _frag(node: exp.Expr) -> str:
    text = node.sql(dialect="duckdb")
    return repr(text if len(text) <= 80 else text[:77] + "...")
