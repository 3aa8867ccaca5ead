"""What the compiler refuses before any SQL runs: the query model's checks and the ``where`` allow-list.

Each refusal is asserted by the words a caller needs (what is wrong, what would be right).
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlglot import exp

from app.compiler.filters import parse_where, resolve_where
from app.compiler.periods import next_period, partial_periods, period_start
from app.compiler.query import MetricQuery, OrderItem, QueryOptions, paren_depth, parse_time, split_names
from app.compiler.sql import compile_query
from app.definitions.loader import load_project, load_texts, read_definition_files
from app.errors import InvalidQuery, UnknownMetric
from app.settings import Settings
from tests.unit import tiny_warehouse

ALLOWED = {"customer_tier", "seats", "signup_date", "team.customer.sales_region", "sales_region"}


@pytest.fixture(scope="module")
def catalog() -> dict[str, dict[str, str]]:
    """The schema's catalog, read from the tiny warehouse's file (built once, shared by every session)."""
    return tiny_warehouse.catalog()


@pytest.fixture(scope="module")
def project(root: Path, catalog):
    return load_project(root, catalog)


# --- the query model ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "names"),
    [
        ("customer_tier, sales_region", ["customer_tier", "sales_region"]),
        ("a, b,,c ,", ["a", "b", "c"]),
        (["a,b", " c "], ["a", "b", "c"]),
        (("a", "b, c"), ["a", "b", "c"]),
        (None, []),
        ("", []),
    ],
)
def test_split_names(given, names) -> None:
    assert split_names(given) == names


def test_split_names_leaves_what_it_cannot_read_to_the_model() -> None:
    assert split_names(5) == 5
    assert split_names(["a", 5]) == ["a", 5]
    with pytest.raises(ValueError):
        MetricQuery(metrics=5)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2025-12-31", date(2025, 12, 31)),
        (" 2025-12-31 ", date(2025, 12, 31)),
        ("2025-01-31T08:00:00", datetime(2025, 1, 31, 8)),
        ("2025-01-31 08:00", datetime(2025, 1, 31, 8)),
        ("2025-01-31T08:00:00Z", datetime(2025, 1, 31, 8)),
        ("2025-01-31T08:00:00+02:00", datetime(2025, 1, 31, 6)),
        ("2025-01-01T01:00:00+03:00", datetime(2024, 12, 31, 22)),
    ],
)
def test_parse_time_gives_naive_utc(text, value) -> None:
    parsed = parse_time(text, "start")
    assert parsed == value and type(parsed) is type(value)
    assert getattr(parsed, "tzinfo", None) is None


def test_times_with_an_offset_are_read_as_utc_whatever_the_machines_zone(monkeypatch) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert parse_time("2025-01-31T08:00:00+02:00", "start") == datetime(2025, 1, 31, 6)
        assert MetricQuery(metrics="mrr", end=datetime(2025, 1, 31, 8, tzinfo=UTC)).end == datetime(2025, 1, 31, 8)
    finally:
        monkeypatch.undo()
        time.tzset()


def test_parse_time_length_limit_and_range() -> None:
    forty = "2025-01-01T00:00:00+00:00 trailing text!"
    assert len(forty) == 40
    with pytest.raises(InvalidQuery, match=r"^start='2025-01-01T00:00:00\+00:00 trailing text!' is not an ISO date"):
        parse_time(forty, "start")  # read, then refused
    with pytest.raises(InvalidQuery, match=r"^end is too long to be a date"):
        parse_time(forty + "!", "end")
    with pytest.raises(InvalidQuery, match=r"^start=0001-01-01T00:00:00\+01:00 is out of range; write a date between"):
        parse_time("0001-01-01T00:00:00+01:00", "start")


def test_parse_time_refuses_with_the_parameter_name() -> None:
    with pytest.raises(
        InvalidQuery, match=r"^end='2025-13-01' is not an ISO date or timestamp; write e\.g\. 2025-01-31"
    ):
        parse_time("2025-13-01", "end")
    with pytest.raises(InvalidQuery, match=r"^start is too long to be a date; write an ISO date such as 2025-01-31\.$"):
        parse_time("2025-01-01T00:00:00.000000+00:00" + " " * 8 + "x", "start")
    forty = "2025-01-01T00:00:00.000000+00:00".ljust(40)
    assert parse_time(forty, "start") == datetime(2025, 1, 1)


def test_paren_depth() -> None:
    assert paren_depth("") == 0
    assert paren_depth("a = 1") == 0
    assert paren_depth("(a = 1) AND (b = 2)") == 1
    assert paren_depth("((a)) OR (((b)))") == 3
    assert paren_depth("(() ())") == 2
    assert paren_depth(")(") == 0


def test_order_items() -> None:
    assert OrderItem.parse("-mrr") == OrderItem(column="mrr", descending=True)
    assert OrderItem.parse("+period") == OrderItem(column="period", descending=False)
    assert OrderItem.parse("period ") == OrderItem(column="period", descending=False)
    assert OrderItem.parse("-Xmas") == OrderItem(column="Xmas", descending=True)
    query = MetricQuery(metrics="mrr", order="-mrr, period")
    assert query.order_items == (OrderItem(column="mrr", descending=True), OrderItem(column="period"))


def test_options_are_normalised() -> None:
    query = MetricQuery(metrics="mrr, arr", grain=" Month ", dimensions="customer_tier", start=" ", end="", where="  ")
    assert query.metrics == ("mrr", "arr") and query.grain == "month" and query.dimensions == ("customer_tier",)
    assert query.start is None and query.end is None and query.where is None
    assert MetricQuery(metrics="mrr", grain="").grain is None
    assert MetricQuery(metrics="mrr", where=" a = 1 ").where == " a = 1 "
    assert MetricQuery(metrics="mrr", start="2025-01-01", end="2025-01-01T00:00:00").start == date(2025, 1, 1)
    assert MetricQuery(metrics="mrr", start=date(2025, 1, 1)).start == date(2025, 1, 1)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"grain": "fortnight"},
            r"^Unknown grain 'fortnight'\. Allowed: hour, day, week, month, quarter, year, fiscal_quarter, fiscal_year\.$",
        ),
        ({"start": "2025-02-01", "end": "2025-01-31"}, r"^start \(2025-02-01\) is after end \(2025-01-31\)\.$"),
        ({"start": "2025-01-01T00:00:01", "end": "2025-01-01"}, r"^start \(2025-01-01T00:00:01\) is after end"),
        ({"compare": "prior_year"}, r"^compare=prior_year needs a grain \(e\.g\. grain=month\)\.$"),
        ({"fill": "zero"}, r"^fill=zero needs a grain \(e\.g\. grain=month\)\.$"),
        ({"metrics": ""}, r"^No metric requested\. Name at least one metric\.$"),
        (
            {"metrics": "mrr,arr", "version": 1},
            r"^version applies to a single metric; query one metric or drop version\.$",
        ),
    ],
)
def test_inconsistent_options_are_refused(options, message) -> None:
    with pytest.raises(InvalidQuery, match=message):
        MetricQuery(**({"metrics": "mrr"} | options))


def test_consistent_options_are_accepted() -> None:
    MetricQuery(metrics="mrr", grain="month", compare="prior_period", fill="null", version=2)
    MetricQuery(metrics="mrr", fill="none", start="2025-01-01", end="2025-01-01")


def test_names_are_checked_once_each() -> None:
    with pytest.raises(InvalidQuery, match=r"^A metric is listed twice; name each metric once\.$"):
        MetricQuery(metrics="mrr,arr,mrr").check_unique()
    with pytest.raises(InvalidQuery, match=r"^A dimension is listed twice; name each dimension once\.$"):
        MetricQuery(metrics="mrr", dimensions="a,b,a").check_unique()
    MetricQuery(metrics="mrr,arr", dimensions="a,b").check_unique()


def test_a_query_of_other_metrics_with_the_same_options() -> None:
    options = QueryOptions(
        grain="month",
        dimensions="customer_tier",
        start="2025-01-01",
        where="seats > 1",
        order="-mrr",
        limit=3,
        offset=2,
        compare="prior_year",
        fill="zero",
        version=None,
    )
    query = MetricQuery.of(["mrr"], options)
    assert query.metrics == ("mrr",)
    assert query.model_dump(exclude={"metrics"}) == options.model_dump()


SETTINGS = Settings(
    max_rows=100, default_limit=7, max_metrics=2, max_dimensions=2, max_where_chars=20, max_where_depth=2
)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"limit": 101}, r"^limit=101 is above the maximum of 100 rows; page with offset\.$"),
        (
            {"metrics": "a,b,c"},
            r"^3 metrics requested; at most 2 per query \(TAPFLOW_MAX_METRICS\)\. Split the query\.$",
        ),
        ({"dimensions": "a,b,c"}, r"^3 dimensions requested; at most 2 per query \(TAPFLOW_MAX_DIMENSIONS\)\.$"),
        (
            {"where": "a = '123456789012345'"},
            r"^where is 21 characters long; at most 20 are accepted \(TAPFLOW_MAX_WHERE_CHARS\)\.$",
        ),
        ({"where": "(((a = 1)))"}, r"^where nests parentheses 3 deep; at most 2 \(TAPFLOW_MAX_WHERE_DEPTH\)\.$"),
    ],
)
def test_the_service_limits(query, message) -> None:
    with pytest.raises(InvalidQuery, match=message):
        MetricQuery(**({"metrics": "mrr"} | query)).within(SETTINGS)


def test_within_the_limits_and_the_default_limit() -> None:
    at_most = MetricQuery(metrics="a,b", dimensions="x,y", where="((a = '1234567890'))", limit=100)
    assert len(at_most.where) == SETTINGS.max_where_chars
    assert at_most.within(SETTINGS) is at_most
    assert MetricQuery(metrics="mrr").within(SETTINGS).limit == 7
    assert MetricQuery(metrics="mrr", limit=0).within(SETTINGS).limit == 0


# --- checks against the definitions -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "error", "message"),
    [
        ({"metrics": "mrrr"}, UnknownMetric, r"^Unknown metric 'mrrr'\. Did you mean 'mrr'"),
        (
            {"metrics": "mrr", "grain": "hour"},
            InvalidQuery,
            r"^Metric 'mrr' is not available at grain 'hour'\. Allowed grains: day, week, month, quarter, year, fiscal_quarter, fiscal_year\.$",
        ),
        (
            {"metrics": "arr_by_customer", "grain": "day"},
            InvalidQuery,
            r"^Metric 'arr_by_customer' is not available at grain 'day'\. Allowed grains: month, quarter, year, fiscal_quarter, fiscal_year\.$",
        ),
        (
            {"metrics": "mrr", "dimensions": "custmer_tier"},
            InvalidQuery,
            r"^Unknown dimension 'custmer_tier' for metric 'mrr'\. Did you mean 'customer_tier'.*\? Allowed: country, ",
        ),
        (
            {"metrics": "new_mrr", "dimensions": "customer.sales_regio"},
            InvalidQuery,
            r"^Dimension 'customer\.sales_regio' for metric 'new_mrr': 'sales_regio' is not a column of "
            r"entity\.entity_customers\. Did you mean 'sales_region'",
        ),
        (
            {"metrics": "new_mrr", "dimensions": "custom.sales_region"},
            InvalidQuery,
            r"^Dimension 'custom\.sales_region' for metric 'new_mrr': entity 'subscriptions' has no relationship 'custom'",
        ),
        (
            {"metrics": "new_mrr", "dimensions": "customer.customer_status"},
            InvalidQuery,
            r"^Unknown dimension 'customer\.customer_status' for metric 'new_mrr'\.",
        ),
        (
            {"metrics": "mrr,new_mrr", "where": "customer_tier = 'growth'"},
            InvalidQuery,
            r"^where refers to 'customer_tier', which is not a dimension of the requested metric\(s\)",
        ),
        ({"metrics": "mrr,arr", "order": "-mrr,-mrr"}, InvalidQuery, r"twice"),
        ({"metrics": "mrr,arr,mrr"}, InvalidQuery, r"^A metric is listed twice"),
        (
            {"metrics": "mrr", "version": 2},
            InvalidQuery,
            r"^Metric 'mrr' has no served version 2\. Served versions: 1\.$",
        ),
        ({"metrics": "mrr", "order": "-mrrr"}, InvalidQuery, r"^Cannot order by 'mrrr': not a column of the result\."),
        ({"metrics": "arr_by_customer", "grain": "month", "dimensions": "tier"}, InvalidQuery, None),
        (
            {"metrics": "legacy_paying_customers", "dimensions": "tier,regio"},
            InvalidQuery,
            r"^Unknown dimension 'regio' for metric 'legacy_paying_customers'\. Did you mean 'region'",
        ),
        (
            {"metrics": "net_new_mrr", "dimensions": "customer_tier"},
            InvalidQuery,
            r"^Unknown dimension 'customer_tier' for metric 'net_new_mrr'\. Did you mean 'customer\.customer_tier'",
        ),
        (
            {"metrics": "new_mrr,mrr", "where": "country = 'US'"},
            InvalidQuery,
            r"^where refers to 'country', which is not a dimension of the requested metric\(s\)",
        ),
    ],
)
def test_queries_the_definitions_refuse(project, query, error, message) -> None:
    if message is None:
        compile_query(project, MetricQuery(**query))  # accepted (the case next to it is refused)
        return
    with pytest.raises(error, match=message):
        compile_query(project, MetricQuery(**query))


NO_TIME = """\
version: 2
metrics:
  - {name: t_count, model: "ref('entity_customers')", calculation_method: count}
  - {name: t_tiers, model: "ref('entity_customers')", calculation_method: count, dimensions: [customer_tier]}
"""


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            {"metrics": "t_count", "grain": "month"},
            r"^Metric 't_count' has no timestamp, so it has no time grains; drop grain\.$",
        ),
        (
            {"metrics": "t_count", "start": "2025-01-01"},
            r"^Metric 't_count' has no timestamp, so start and end do not apply to it\.$",
        ),
        ({"metrics": "t_count", "end": "2025-01-01"}, r"so start and end do not apply to it"),
        (
            {"metrics": "t_count", "dimensions": "customer_tier"},
            r"^Unknown dimension 'customer_tier' for metric 't_count'\.  This metric has no dimensions\.$",
        ),
        (
            {"metrics": "t_tiers", "dimensions": "customer_tier,sales_region"},
            r"^Unknown dimension 'sales_region' for metric 't_tiers'\. Allowed: customer_tier\.$",
        ),
    ],
)
def test_metrics_without_a_timestamp_or_dimensions(root: Path, catalog, query, message) -> None:
    files = read_definition_files(root) | {"metrics/zz.yml": NO_TIME}
    with pytest.raises(InvalidQuery, match=message):
        compile_query(load_texts(files, catalog), MetricQuery(**query))


def test_where_refers_only_to_dimensions_every_metric_has(project) -> None:
    ok = compile_query(project, MetricQuery(metrics="mrr,arr,active_customers", where="country = 'US'"))
    assert ok.params["p0"] == "US"


# --- the where allow-list ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "kind"),
    [
        ("customer_tier = 'growth'", exp.EQ),
        ("seats > -1", exp.GT),
        ("signup_date >= DATE '2024-01-01'", exp.GTE),
        ("seats IN (-1, 2)", exp.In),
        ("signup_date IN (DATE '2024-01-01', NULL, TRUE)", exp.In),
        ("customer_tier IS NULL", exp.Is),
        ("customer_tier IS TRUE", exp.Is),
        ("customer_tier IS NOT NULL", exp.Not),
        ("customer_tier ILIKE 'a%' AND customer_tier LIKE '%b'", exp.And),
        ("seats BETWEEN 1 AND 2 OR NOT seats <> 3", exp.Or),
        ("(seats < 1)", exp.Paren),
        ("team.customer.sales_region = 'NA'", exp.EQ),
        ("TRUE", exp.Boolean),
    ],
)
def test_where_accepts(where, kind) -> None:
    assert isinstance(parse_where(where, ALLOWED), kind)


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("customer_tier = 'a' /* x */", r"^where must not contain comments\.$"),
        ("seats = 1 -- c", r"^where must not contain comments\.$"),
        ("t.* = 1", r"^where must not use '\*'\.$"),
        (
            "custmer_tier = 'a'",
            r"^where refers to 'custmer_tier', which is not a dimension of the requested "
            r"metric\(s\)\. Did you mean 'customer_tier'\? Allowed: customer_tier, sales_region, seats, ",
        ),
        (
            "CAST(seats AS INT) = 1",
            r"^where may only write typed literals as DATE '\.\.\.' or TIMESTAMP '\.\.\.'; "
            r"got 'CAST\(seats AS INT\)'\.$",
        ),
        ("seats = CAST('1' AS INT)", r"^where may only write typed literals as DATE"),
        (
            "customer_tier IN (SELECT 1)",
            r"^IN takes a list of literals, not a subquery; got 'customer_tier IN \(SELECT 1\)'\.$",
        ),
        ("customer_tier IN (sales_region)", r"^IN lists may hold only literals; got 'sales_region'\.$"),
        ("seats IN (-seats)", r"^IN lists may hold only literals; got '-seats'\.$"),
        ("seats IN (CAST('1' AS INT))", r"^IN lists may hold only literals; got \"CAST\('1' AS INT\)\"\.$"),
        ("customer_tier IN ()", r"^IN needs at least one value, e\.g\. customer_tier IN \('growth', 'enterprise'\)\.$"),
        ("customer_tier IS 'a'", r"^IS takes NULL, TRUE or FALSE; got \"customer_tier IS 'a'\"\.$"),
        (
            "lower(customer_tier) = 'a'",
            r"^where may not contain 'LOWER\(customer_tier\)': only dimensions, literals, "
            r"comparisons, AND/OR/NOT, IN lists, BETWEEN, IS \[NOT\] NULL and LIKE/ILIKE are allowed\.$",
        ),
        ("seats = -seats", r"^where may not contain '-seats'"),
        (
            "seats = CAST(1 AS INT)",
            r"^where may only write typed literals as DATE '\.\.\.' or TIMESTAMP '\.\.\.'; got 'CAST\(1 AS INT\)'\.$",
        ),
        ("seats = abs(1)", r"^where may not contain 'ABS\(1\)': only dimensions"),
        ("seats IN UNNEST([1, 2])", r"^IN takes a list of literals, not a subquery"),
        ("seats IN seats", r"^IN takes a list of literals, not a subquery; got 'seats IN seats'\.$"),
        ("seats IN (- -1)", r"^IN lists may hold only literals; got '- -1'\.$"),
        ("seats IN (1, -(2))", r"^IN lists may hold only literals; got '-\(2\)'\.$"),
        ("customer_tier LIKE 'a!%' ESCAPE '!'", r"^where may not contain "),
        ("customer_tier", r"^where must be a condition such as customer_tier = 'growth'; got 'customer_tier'\.$"),
        ("'growth'", r"^where must be a condition such as customer_tier = 'growth'; got \"'growth'\"\.$"),
        ("seats = 1; seats = 2", r"^where must be a single boolean expression, not several statements\.$"),
        ("", r"^where must be a single boolean expression, not several statements\.$"),
        ("customer_tier = ", r"^where is not a valid SQL boolean expression: Required keyword: 'expression' missing"),
        ("customer_tier = 'a", r"^where is not a valid SQL boolean expression: \S"),
    ],
)
def test_where_refuses(where, message) -> None:
    with pytest.raises(InvalidQuery, match=message):
        parse_where(where, ALLOWED)


def test_where_shows_at_most_120_characters_of_a_fragment() -> None:
    with pytest.raises(InvalidQuery) as info:
        parse_where("seats = length('" + "x" * 200 + "')", ALLOWED)
    shown = info.value.detail.split("where may not contain ", 1)[1].split(": only", 1)[0]
    assert shown == repr("LENGTH('" + "x" * 109 + "...")
    with pytest.raises(InvalidQuery) as info:
        parse_where("seats = length('" + "x" * 110 + "')", ALLOWED)
    assert "x" * 110 + "')\"" in info.value.detail  # 120 characters: shown whole
    with pytest.raises(InvalidQuery) as info:
        parse_where("seats = length('" + "x" * 111 + "')", ALLOWED)
    assert "x" * 109 + '..."' in info.value.detail


def test_where_too_deep_to_walk_is_refused() -> None:
    with pytest.raises(InvalidQuery, match=r"^where is nested too deeply; simplify it\.$"):
        parse_where("NOT " * 3000 + "seats = 1", ALLOWED)
    # a chain the parser reads without recursing, but too deep to vet
    with pytest.raises(InvalidQuery, match=r"^where is nested too deeply; simplify it\.$"):
        parse_where(" OR ".join(f"seats = {i}" for i in range(3000)), ALLOWED)


def test_where_accepts_timestamp_literals() -> None:
    assert isinstance(parse_where("signup_date >= TIMESTAMP '2024-01-01 08:00:00'", ALLOWED), exp.GTE)


def test_resolve_where_swaps_dimensions_for_columns_in_a_copy() -> None:
    tree = parse_where("team.customer.sales_region = 'NA' AND seats IN (1, 2)", ALLOWED)
    before = tree.sql()
    resolved = resolve_where(tree, lambda name: exp.column(name.replace(".", "_"), table="t"))
    assert resolved.sql() == "t.team_customer_sales_region = 'NA' AND t.seats IN (1, 2)"
    assert tree.sql() == before


# --- periods in Python (the answer's partial_periods) ---------------------------------------------------


@pytest.mark.parametrize(
    ("value", "grain", "start"),
    [
        (datetime(2026, 9, 16, 13, 45, 7, 12), "hour", datetime(2026, 9, 16, 13)),
        (datetime(2026, 9, 16, 13, 45, 7, 12), "day", datetime(2026, 9, 16)),
        (date(2026, 9, 16), "week", datetime(2026, 9, 14)),  # a Wednesday: its ISO week starts on Monday
        (date(2026, 9, 14), "week", datetime(2026, 9, 14)),
        (date(2026, 9, 20), "week", datetime(2026, 9, 14)),  # a Sunday
        (datetime(2026, 9, 16, 13), "month", datetime(2026, 9, 1)),
        (date(2026, 1, 31), "quarter", datetime(2026, 1, 1)),
        (date(2026, 6, 30), "quarter", datetime(2026, 4, 1)),
        (date(2026, 9, 15), "quarter", datetime(2026, 7, 1)),
        (date(2026, 12, 31), "quarter", datetime(2026, 10, 1)),
        (datetime(2026, 12, 31, 23, 59), "year", datetime(2026, 1, 1)),
    ],
)
def test_period_start(value, grain, start) -> None:
    assert period_start(value, grain) == start


@pytest.mark.parametrize(
    ("start", "grain", "after"),
    [
        (datetime(2026, 12, 31, 23), "hour", datetime(2027, 1, 1, 0)),
        (datetime(2026, 2, 28), "day", datetime(2026, 3, 1)),
        (datetime(2026, 12, 28), "week", datetime(2027, 1, 4)),
        (datetime(2026, 1, 1), "month", datetime(2026, 2, 1)),
        (datetime(2026, 12, 1), "month", datetime(2027, 1, 1)),
        (datetime(2026, 10, 1), "quarter", datetime(2027, 1, 1)),
        (datetime(2026, 4, 1), "quarter", datetime(2026, 7, 1)),
        (datetime(2026, 1, 1), "year", datetime(2027, 1, 1)),
    ],
)
def test_next_period(start, grain, after) -> None:
    assert next_period(start, grain) == after


def partial(period: str, start: str, until: str) -> dict:
    return {"period": period, "partial": True, "from": start, "until": until}


@pytest.mark.parametrize(
    ("grain", "start", "end", "expected"),
    [
        (None, date(2026, 9, 15), date(2026, 10, 3), []),
        ("month", date(2026, 9, 1), date(2026, 9, 30), []),
        ("month", None, None, []),
        ("month", date(2026, 9, 15), date(2026, 10, 31), [partial("2026-09-01", "2026-09-15", "2026-10-01")]),
        ("month", date(2026, 9, 1), date(2026, 10, 30), [partial("2026-10-01", "2026-10-01", "2026-10-31")]),
        ("month", date(2026, 9, 15), None, [partial("2026-09-01", "2026-09-15", "2026-10-01")]),
        ("month", None, date(2026, 10, 30), [partial("2026-10-01", "2026-10-01", "2026-10-31")]),
        ("month", date(2026, 9, 15), date(2026, 9, 20), [partial("2026-09-01", "2026-09-15", "2026-09-21")]),
        (
            "quarter",
            date(2026, 2, 1),
            date(2026, 8, 1),
            [partial("2026-01-01", "2026-02-01", "2026-04-01"), partial("2026-07-01", "2026-07-01", "2026-08-02")],
        ),
        (
            "day",
            datetime(2026, 9, 15, 6),
            date(2026, 9, 16),
            [partial("2026-09-15", "2026-09-15T06:00:00", "2026-09-16")],
        ),
        (
            "hour",
            datetime(2026, 9, 15, 6, 30),
            date(2026, 9, 15),
            [partial("2026-09-15T06:00:00", "2026-09-15T06:30:00", "2026-09-15T07:00:00")],
        ),
        ("hour", datetime(2026, 9, 15, 6), date(2026, 9, 15), []),
        ("week", date(2026, 9, 14), date(2026, 9, 20), []),
        ("year", date(2026, 1, 1), date(2026, 12, 31), []),
    ],
)
def test_partial_periods(grain, start, end, expected) -> None:
    assert partial_periods(grain, start, end) == expected


def test_an_order_column_named_twice_is_refused() -> None:
    with pytest.raises(InvalidQuery, match=r"^order names a column twice; name each column once\.$"):
        MetricQuery(metrics="mrr", order="-mrr,mrr").check_unique()
    MetricQuery(metrics="mrr", order="-mrr,period").check_unique()


def test_partial_periods_at_hour_grain_and_with_a_timestamp_end() -> None:
    assert partial_periods("hour", datetime(2026, 9, 15, 0, 30), date(2026, 9, 15)) == [
        partial("2026-09-15T00:00:00", "2026-09-15T00:30:00", "2026-09-15T01:00:00")
    ]
    assert partial_periods("day", date(2026, 9, 15), datetime(2026, 9, 16, 12)) == [
        partial("2026-09-16", "2026-09-16", "2026-09-16T12:00:00")
    ]


def test_bounds_of_another_kind_are_another_shape(project) -> None:
    by_day = compile_query(project, MetricQuery(metrics="actions", start="2024-01-02", end="2024-01-02"))
    by_time = compile_query(
        project, MetricQuery(metrics="actions", start="2024-01-02T04:00:00", end="2024-01-02T05:00:00")
    )
    assert not by_time.cached and by_day.duckdb_sql != by_time.duckdb_sql
    assert "TIMESTAMP" in by_time.duckdb_sql.split("$start")[1][:20]


def test_load_project_checks_against_the_catalog_and_the_guides(tmp_path: Path, root: Path, catalog) -> None:
    for folder in ("metrics", "entities"):
        (tmp_path / folder).mkdir()
        for f in (root / folder).glob("*.yml"):
            (tmp_path / folder / f.name).write_text(f.read_text())
    (tmp_path / "entities" / "zz.yml").write_text(
        "version: 2\nentities:\n  - name: t_e\n    primary_key: customer_id\n    tables: {current: entity.nope}\n"
    )
    from app.errors import DefinitionError

    with pytest.raises(DefinitionError) as info:
        load_project(tmp_path, catalog)
    keys = {p["key"] for p in info.value.errors}
    assert "entities.t_e.tables.current" in keys  # the catalog was used
    assert any(k.endswith("migration_guide") for k in keys)  # the folder's guides were checked (docs/ is missing)
