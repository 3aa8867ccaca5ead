"""The allow-list of SQL inside definitions: what it names in its message is what it accepts."""

from __future__ import annotations

import pytest
import sqlglot

from app.definitions.allowlist import FUNCTION_NAMES, disallowed

TWO_ARGUMENTS = {
    "coalesce", "concat", "contains", "ends_with", "greatest", "least", "levenshtein", "nullif", "pow",
    "regexp_extract", "regexp_matches", "repeat", "left", "right", "round", "starts_with", "strpos", "ifnull", "log",
}  # fmt: skip
ARGUMENTS = {
    "date_add": "d, INTERVAL 1 DAY",
    "date_diff": "'day', a, b",
    "date_trunc": "'month', d",
    "extract": "year FROM d",
    "make_date": "2020, 1, 1",
    "strftime": "d, '%Y'",
    "lpad": "a, 3, 'x'",
    "rpad": "a, 3, 'x'",
    "split_part": "a, ',', 1",
    "replace": "a, 'b', 'c'",
    "regexp_replace": "a, 'x', 'y'",
    "substring": "a, 1, 2",
    "repeat": "a, 3",  # the length of repeat and lpad/rpad: a small literal
}


def parse(sql: str):
    return sqlglot.parse_one(sql, dialect="duckdb")


@pytest.mark.parametrize("name", FUNCTION_NAMES.split(", "))
def test_every_function_the_message_names_is_accepted(name: str) -> None:
    call = f"{name}({ARGUMENTS.get(name, 'a, b' if name in TWO_ARGUMENTS else 'a')})"
    assert disallowed(parse(call)) is None, call


@pytest.mark.parametrize(
    ("sql", "words"),
    [
        ("now()", "function 'now'"),
        ("query('SELECT 1')", "function 'query'"),
        ("read_text('/etc/passwd')", "function 'read_text'"),
        ("getenv('HOME')", "function 'getenv'"),
        ("(SELECT 1)", "a subquery"),
        ("a IN (SELECT 1)", "a subquery"),
        ("EXISTS (SELECT 1)", "a subquery"),
        ("s.t.c", "is not a column of the model"),
        ("random()", "function 'rand'"),
        ("lpad(a, 2000000000, 'x')", "at most 10,000"),
        ("repeat(a, n)", "written as a literal"),
        ("repeat(repeat(a, 3), 3)", "do not nest"),
        # sqlglot prints a unit and a type name as written: a quoted one could carry any SQL
        (
            "extract(\"epoch from date '2020-01-01') * 0 + (select count(*) from information_schema.tables) "
            '+ extract(epoch" from d)',
            "a unit (such as month or epoch) must be a single word",
        ),
        ('cast(1 as "oid) || (select 42) || cast(1 as varchar")', "cast to a built-in type"),
    ],
)
def test_what_is_refused(sql: str, words: str) -> None:
    reason = disallowed(parse(sql))
    assert reason is not None and words in reason


def test_ordinary_definitions_pass() -> None:
    for sql in (
        "quantity * unit_price",
        "CASE WHEN seats > 10 THEN 'large' ELSE 'small' END",
        "CAST(amount AS DECIMAL(12, 2)) / 100",
        "coalesce(discount, 0) + -1.5",
        "date_trunc('month', signup_date)",
        "sum(x)",  # aggregates are the definition checks' to refuse, more precisely
    ):
        assert disallowed(parse(sql)) is None, sql
