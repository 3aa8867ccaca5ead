"""Pre-aggregation definitions (DESIGN 13, issue 14 point 1) and the matching rules on given coverage: each
problem names file, line and what would be right; what a rollup answers only in part is a note; a candidate
that cannot answer says why (before coverage, its base changed since, not built)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from app.compiler.matching import Coverage, choose
from app.compiler.plan import allowed_where, base_metrics
from app.compiler.query import MetricQuery
from app.compiler.shape import shape_of
from app.compiler.sql import compile_query
from app.definitions.loader import load_texts, read_definition_files
from app.errors import DefinitionError

FILE = "metrics/zz_rollups.yml"


def rollup_file(block: str, carrier: str = "mrr_carrier") -> str:
    return f"""\
version: 2
metrics:
  - name: {carrier}
    model: ref('entity_customers_daily')
    calculation_method: sum
    expression: monthly_recurring_revenue
    timestamp: snapshot_date
    dimensions: [customer_tier, sales_region]
    pre_aggregations:
{block}"""


def load(root: Path, catalog, text: str, **more: str):
    return load_texts(read_definition_files(root) | {FILE: text} | more, catalog)


def problems(root: Path, catalog, text: str) -> list[dict]:
    with pytest.raises(DefinitionError) as info:
        load(root, catalog, text)
    return [p for p in info.value.errors if p["file"] == FILE]


@pytest.mark.parametrize(
    ("block", "line", "words"),
    [
        (
            "      - {name: r1, metrics: [mrrr], grain: month}\n",
            10,
            "unknown metric 'mrrr'. Did you mean 'mrr'?",
        ),
        (
            "      - {name: r1, metrics: [mrr], dimensions: [os], grain: month}\n",
            10,
            "dimension 'os' is not a dimension of mrr",
        ),
        (
            "      - {name: r1, metrics: [customer_lifetime_value], grain: day}\n",
            10,
            "customer_lifetime_value has no grain 'day' (its grains: month, quarter, year)",
        ),
        (
            "      - {name: r1, metrics: [mrr, device_events], grain: day}\n",
            10,
            "a pre-aggregation reads one table by one time: mrr reads entity.entity_customers_daily.snapshot_date, "
            "device_events reads entity.entity_devices_hourly.grain_timestamp",
        ),
        (
            "      - {name: devices_daily, metrics: [mrr], grain: month}\n",
            10,
            "pre-aggregation 'devices_daily' is declared twice; rename one",
        ),
        (
            "      - {name: r1, metrics: [team_size], dimensions: [customer.customer_tier@current], grain: week}\n",
            10,
            "a rollup holds each row's value at its time, not @current",
        ),
        (
            "      - {name: r1, metrics: [legacy_paying_customers], grain: month}\n",
            10,
            "legacy.customer_facts has no build: a pre-aggregation is refreshed when the builds rebuild its table",
        ),
        (
            "      - {name: r1, metrics: [mrr], grain: quarter}\n",
            10,
            "'quarter' is not a valid grain. Allowed: day, hour, month, week.",
        ),
        (
            "      - {name: r1, grain: month}\n      - {name: r2, metrics: [mrr], dimensions: [mrr__snap], grain: month}\n",
            11,
            "would share the column 'mrr__snap'",
        ),
    ],
)
def test_rollup_problems_name_file_line_and_what_is_right(root: Path, catalog, block, line, words) -> None:
    found = problems(root, catalog, rollup_file(block))
    assert any(words in p["message"] for p in found), found
    assert any(p["line"] == line for p in found if words in p["message"]), found


def test_a_rollup_of_a_metric_it_is_declared_on_and_a_derived_metric_through_its_parts(root: Path, catalog) -> None:
    project = load(
        root,
        catalog,
        rollup_file("      - {name: r1, grain: month}\n      - {name: r2, metrics: [arpa], grain: day}\n"),
    )
    assert project.rollups["r1"].metrics == ("mrr_carrier",)
    assert project.rollups["r2"].metrics == ("mrr", "active_customers")  # a ratio through its parts
    assert project.rollups["r2"].declared_in == "metric:mrr_carrier"


def test_a_snapshot_key_count_adds_up_and_other_distinct_counts_are_notes(root: Path, catalog) -> None:
    project = load(root, catalog, rollup_file("      - {name: r1, metrics: [active_customers], grain: month}\n"))
    assert project.rollups["r1"].notes == ()  # customer_id is unique per snapshot_date: it adds up
    devices = project.rollups["devices_daily"]
    assert devices.notes == (
        "online_devices is a distinct count: devices_daily answers it only by day with exactly its dimensions "
        "(device_type, os)",
    )


def test_a_rollup_table_is_named_by_what_defines_its_rows(root: Path, catalog) -> None:
    first = load(root, catalog, rollup_file("      - {name: r1, grain: month}\n")).rollups["r1"].physical
    relabelled = rollup_file("      - {name: r1, grain: month}\n").replace(
        "    model:", "    label: MRR again\n    model:"
    )
    assert load(root, catalog, relabelled).rollups["r1"].physical == first
    other = rollup_file("      - {name: r1, grain: month}\n").replace(
        "expression: monthly_recurring_revenue", "expression: lifetime_revenue"
    )
    assert load(root, catalog, other).rollups["r1"].physical != first
    assert first.startswith("rollup.r1_")


def test_renaming_a_metric_a_rollup_holds_is_a_problem_there(root: Path, catalog) -> None:
    files = read_definition_files(root)
    files["metrics/devices.yml"] = files["metrics/devices.yml"].replace(
        "- name: online_devices", "- name: devices_online"
    )
    with pytest.raises(DefinitionError) as info:
        load_texts(files, catalog)
    [problem] = info.value.errors
    assert problem["file"] == "metrics/devices.yml" and problem["key"].endswith("pre_aggregations[0].metrics[3]")
    assert problem["message"].startswith("unknown metric 'online_devices'") and "devices_online" in problem["message"]


# -- matching on given coverage -------------------------------------------------------------------------


def choice(project, coverage, **query):
    q = MetricQuery(**query)
    shape = shape_of(q, allowed_where(project, q))
    return choose(project, q, base_metrics(project, q), shape.where, coverage)


def reasons(c) -> dict[str, str]:
    return dict(c.skipped)


@pytest.fixture(scope="module")
def shipped(root: Path, catalog):
    return load_texts(read_definition_files(root), catalog)


OCT = (datetime(2026, 10, 18), datetime(2026, 11, 1))


def covered(*spans) -> dict[str, Coverage]:
    return {
        "devices_daily": Coverage(tuple(spans), OCT, 50),
        "devices_by_location_daily": Coverage((), OCT),
    }


def test_a_range_before_the_coverage_reads_the_base(shipped) -> None:
    cov = covered((datetime(2026, 10, 20), datetime(2026, 11, 1)))
    c = choice(shipped, cov, metrics=("device_events",), grain="day")
    assert c.rollup is None
    assert reasons(c) == {
        "devices_daily": "range starts before coverage (devices_daily covers 2026-10-20 to 2026-11-01)",
        "devices_by_location_daily": "devices_by_location_daily is not built yet",
    }
    assert choice(shipped, cov, metrics=("device_events",), grain="day", start=date(2026, 10, 20)).rollup.name == (
        "devices_daily"
    )
    # a comparison reads the period before start too
    c = choice(shipped, cov, metrics=("device_events",), grain="day", start=date(2026, 10, 20), compare="prior_period")
    assert reasons(c)["devices_daily"].startswith("range starts before coverage")


def test_a_span_whose_base_changed_since_reads_the_base_until_it_is_rebuilt(shipped) -> None:
    cov = covered((datetime(2026, 10, 18), datetime(2026, 10, 25)), (datetime(2026, 10, 26), datetime(2026, 11, 1)))
    c = choice(shipped, cov, metrics=("device_events",), grain="week")
    assert reasons(c)["devices_daily"] == (
        "entity.entity_devices_hourly changed on 2026-10-25 since devices_daily was built there (the next build "
        "refreshes it)"
    )
    ok = choice(shipped, cov, metrics=("device_events",), grain="day", end=date(2026, 10, 24))
    assert ok.rollup is not None and ok.rollup.name == "devices_daily"
    # past the end of what its base covers, nothing is read: the range may run on
    later = choice(
        shipped, cov, metrics=("device_events",), grain="day", start=date(2026, 10, 26), end=date(2027, 1, 31)
    )
    assert later.rollup is not None


def test_the_smallest_rollup_that_answers_is_read(shipped) -> None:
    both = {"devices_daily": Coverage((OCT,), OCT, 900), "devices_by_location_daily": Coverage((OCT,), OCT, 100)}
    c = choice(shipped, both, metrics=("device_errors",), grain="month")
    assert c.rollup.name == "devices_by_location_daily"
    assert reasons(c) == {"devices_daily": "devices_by_location_daily is smaller"}


def test_without_a_database_or_with_off_no_rollup_is_read(shipped) -> None:
    assert reasons(choice(shipped, None, metrics=("mrr",), grain="month")) == {
        "revenue_monthly": "no database to read it from"
    }
    c = choice(shipped, covered(OCT), metrics=("device_events",), grain="day", pre_aggregations="off")
    assert c.rollup is None and set(reasons(c).values()) == {"pre_aggregations=off"}
    assert choice(shipped, {}, metrics=("customer_lifetime_value",), grain="month").meta() is None


def test_a_rollup_table_changes_with_the_entities_its_dimensions_go_through(root: Path, catalog) -> None:
    files = read_definition_files(root)
    before = load_texts(files, catalog).rollups
    customers = files["entities/customers.yml"]
    # the customers' history read under another key: a joined tier is then today's, not the one of each date
    files["entities/customers.yml"] = customers.replace("      history:\n", "      scd:\n", 1).replace(
        "snapshot: {from: history, grain: day}", "snapshot: {from: scd, grain: day}", 1
    )
    after = load_texts(files, catalog).rollups
    assert after["teams_weekly"].physical != before["teams_weekly"].physical  # team size by customer tier
    assert after["devices_daily"].physical == before["devices_daily"].physical  # reads no customer
    files["entities/customers.yml"] = customers.replace("Paying customer accounts", "Paying accounts", 1)
    assert load_texts(files, catalog).rollups["teams_weekly"].physical == before["teams_weekly"].physical


def test_rows_outside_the_builds_keep_open_ranges_on_the_base(shipped) -> None:
    cov = {"devices_daily": Coverage((OCT,), OCT, 50, complete=False), "devices_by_location_daily": Coverage()}
    c = choice(shipped, cov, metrics=("device_events",), grain="day")
    assert reasons(c)["devices_daily"] == (
        "entity.entity_devices_hourly has rows without a time or outside its builds' span: give start and end inside it"
    )
    inside = choice(
        shipped, cov, metrics=("device_events",), grain="day", start=date(2026, 10, 19), end=date(2026, 10, 31)
    )
    assert inside.rollup is not None
    wider = choice(
        shipped, cov, metrics=("device_events",), grain="day", start=date(2026, 10, 1), end=date(2026, 10, 31)
    )
    assert reasons(wider)["devices_daily"].startswith("range starts before coverage")


def test_a_query_compiled_before_is_compiled_again_over_new_coverage(shipped) -> None:
    """compile_query remembers a query with the coverage object it was compiled over: the same object gives the
    same answer again, a new one (the data changed) chooses again, whatever the old choice was."""
    q = MetricQuery(metrics=("device_events",), grain="day", start=date(2026, 10, 20))
    built = covered((datetime(2026, 10, 20), datetime(2026, 11, 1)))
    first = compile_query(shipped, q, built)
    assert first.pre_aggregation["used"] == "devices_daily" and not first.cached
    again = compile_query(shipped, q, built)
    assert again.cached and again.duckdb_sql == first.duckdb_sql and again.params == first.params
    assert compile_query(shipped, q, built) is again  # remembered, not compiled again
    behind = covered((datetime(2026, 10, 22), datetime(2026, 11, 1)))  # the same rollups, rebuilt from the 22nd
    after = compile_query(shipped, q, behind)
    assert after.pre_aggregation["used"] is None
    assert reasons_of(after)["devices_daily"].startswith("range starts before coverage")
    assert "entity_devices_hourly" in after.duckdb_sql and "entity_devices_hourly" not in first.duckdb_sql
    assert compile_query(shipped, q, built).pre_aggregation["used"] == "devices_daily"  # and back


def reasons_of(compiled) -> dict[str, str]:
    return {s["name"]: s["reason"] for s in compiled.pre_aggregation["skipped"]}


def test_a_query_of_many_values_is_compiled_each_time_not_kept(shipped) -> None:
    """What compile_query keeps stays small: a query with more values (and warnings) than KNOWN_VALUES is
    compiled again each time it is asked."""
    few = MetricQuery(metrics=("mrr",), grain="month", where="customer_tier IN ('growth', 'enterprise')")
    compile_query(shipped, few)
    assert compile_query(shipped, few) is compile_query(shipped, few)  # the kept one, from the second on
    tiers = ", ".join(f"'tier {i}'" for i in range(40))
    many = MetricQuery(metrics=("mrr",), grain="month", where=f"customer_tier IN ({tiers})")
    compile_query(shipped, many)
    second, third = compile_query(shipped, many), compile_query(shipped, many)
    assert second is not third and second.duckdb_sql == third.duckdb_sql and second.params == third.params
