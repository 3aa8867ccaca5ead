"""Build definitions (issue 13, point 1): what a built table reads comes from its SQL; every table
read is provided by a build or the database; cycles, table functions and malformed builds are
problems with file and line; the graph orders the builds."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.definitions.loader import load_texts, read_definition_files
from app.errors import DefinitionError

TEAMS = """\
version: 2
entities:
  - name: squads
    primary_key: team_id
    tables:
      current:
        name: entity.squads
        columns: [team_id, customer_id, team_type, team_size]
        build:
          sql: |
            with members as (select team_id, count(*) as team_size from entity.entity_users group by all)
            select t.team_id, t.customer_id, t.team_type, m.team_size
            from entity.entity_teams t left join members m using (team_id)
      history:
        name: entity.squads_history
        timestamp: valid_from
        columns: [team_id, team_type, valid_from, valid_to, is_current]
        build: {scd2: {from: entity.entity_teams_history, unique_key: team_id, updated_at: valid_from}}
      daily:
        name: entity.squads_daily
        timestamp: snapshot_date
        columns: [team_id, snapshot_date, team_type, sessions]
        build:
          snapshot: {from: history, grain: day}
          sql: |
            select s.*, d.sessions from snapshot s left join (
              select team_id, snapshot_date, sum(sessions) as sessions from entity.entity_teams_daily
              where snapshot_date >= $start and snapshot_date < $end group by all) d using (team_id, snapshot_date)
          incremental: {by: snapshot_date, batch: month, lookback_days: 3}
          start: 2024-01-01
"""


def load(root: Path, catalog, text: str):
    files = read_definition_files(root) | {"entities/squads.yml": text}
    return load_texts(files, catalog)


def problems(root: Path, catalog, text: str) -> list[dict]:
    with pytest.raises(DefinitionError) as info:
        load(root, catalog, text)
    return [p for p in info.value.errors if p["file"] == "entities/squads.yml"]


def test_dependencies_come_from_the_sql_and_order_the_builds(root: Path, catalog) -> None:
    project = load(root, catalog, TEAMS)
    graph = project.builds
    assert {k: v for k, v in graph.reads.items() if "squads" in k} == {
        "entity.squads": frozenset({"entity.entity_users", "entity.entity_teams"}),  # `members` is a CTE
        "entity.squads_history": frozenset({"entity.entity_teams_history"}),
        "entity.squads_daily": frozenset({"entity.squads_history", "entity.entity_teams_daily"}),
    }
    order = graph.order()
    assert order.index("entity.squads_history") < order.index("entity.squads_daily")
    assert set(order) == set(graph.reads)
    assert order.index("entity.entity_teams_history") < order.index("entity.squads_history")


@pytest.mark.parametrize(
    ("edit", "line", "words"),
    [
        (("from entity.entity_teams t", "from entity.entity_teamz t"), 10, "'entity.entity_teamz', which no build"),
        (("from entity.entity_teams t", "from read_csv('/etc/passwd') t"), 10, "is not a table"),
        (("select t.team_id, t.customer_id", "select getenv('HOME') as x, t.team_id, t.customer_id"), 10, "getenv"),
        (("from: history, grain: day", "from: histroy, grain: day"), 24, "Did you mean 'history'?"),
        (("unique_key: team_id, updated_at: valid_from", "unique_key: team_id"), 18, "updated_at"),
        (("            with members", "            delete from x; with members"), 10, "one SELECT"),
    ],
)
def test_build_problems_name_file_and_line(root: Path, catalog, edit, line, words) -> None:
    found = problems(root, catalog, TEAMS.replace(*edit))
    assert len(found) == 1, found
    assert found[0]["line"] == line and words in found[0]["message"], found[0]


def test_a_cycle_is_a_problem(root: Path, catalog) -> None:
    cyclic = TEAMS.replace("from entity.entity_teams t", "from entity.squads_daily t").replace(
        "from entity.entity_teams_daily", "from entity.squads"
    )
    (found,) = problems(root, catalog, cyclic)
    assert found["message"].startswith("builds form a cycle: entity.squads -> entity.squads_daily -> entity.squads;"), (
        found
    )


def test_a_build_of_two_kinds_is_a_problem(root: Path, catalog) -> None:
    both = TEAMS.replace(
        "build: {scd2: {from: entity.entity_teams_history, unique_key: team_id, updated_at: valid_from}}",
        "build: {scd2: {from: entity.entity_teams_history, unique_key: team_id, updated_at: valid_from}, "
        "snapshot: {from: current, grain: day}}",
    )
    (found,) = problems(root, catalog, both)
    assert "one of sql, scd2 or snapshot" in found["message"]


@pytest.mark.parametrize(
    "case",
    [
        # a CTE is named by one identifier: a dotted one does not hide the service's tables
        (
            ("from entity.entity_users group by all", "from meta.builds group by all"),
            ("with members as", 'with "meta.builds" as (select 1), members as'),
            "'meta.builds', which no build or source provides",
        ),
        (("from entity.entity_teams t", "from meta.builds t"), "'meta.builds', which no build"),
        (("from entity.entity_teams t", "from information_schema.tables t"), "which no build or source"),
        (("from entity.entity_teams t", "from system.main.duckdb_databases t"), "which no build or source"),
        (("select t.team_id, t.customer_id", "select getvariable('x') as v, t.team_id, t.customer_id"), "getvariable"),
        (("name: entity.squads\n", "name: meta.data_versions\n"), "a built table is named schema.table outside meta"),
        (("name: entity.squads\n", "name: squads\n"), "a built table is named schema.table"),
        (("name: entity.squads\n", "name: entity.entity_users\n"), "is built by users.current already"),
        (("lookback_days: 3}", "lookback_days: 3, backfill: hour}"), "backfill (hour) must not be finer than batch"),
        (
            ("snapshot: {from: history, grain: day}", "snapshot: {from: history, grain: month}"),
            ("batch: month", "batch: day"),
            "a month snapshot needs batches of a month or longer, not a day",
        ),
        (
            ("lookback_days: 3}", "lookback_days: 3, late: {table: meta.builds, time: a, loaded_at: b}}"),
            "late: no table",
        ),
        (
            (
                "lookback_days: 3}",
                "lookback_days: 3, late: {table: staging.stg_app__user_activities, time: ts, loaded_at: loaded_at}}",
            ),
            "late: 'ts' is not a column of staging.stg_app__user_activities",
        ),
    ],
)
def test_what_a_build_reads_and_writes_is_checked(root: Path, catalog, case) -> None:
    *edits, words = case
    text = TEAMS
    for old, new in edits:
        assert old in text
        text = text.replace(old, new, 1)
    found = problems(root, catalog, text)
    assert any(words in p["message"] for p in found), found


@pytest.mark.parametrize(
    "table",
    [
        "{name: entity.squads_x, refresh: {every: '999999999999 days'}}",
        "{name: entity.squads_x, refresh: {every: 0}}",
        "{name: entity.squads_x, freshness: {warn_after: -5}}",
        "{name: entity.squads_x, tests: [{unique: []}]}",
        "{name: entity.squads_x, tests: [{unique: a, not_null: a}]}",
    ],
)
def test_bad_schedules_freshness_and_tests_are_problems_not_crashes(root: Path, catalog, table) -> None:
    text = TEAMS.replace("      current:\n", f"      extra: {table}\n      current:\n", 1)
    assert problems(root, catalog, text)
