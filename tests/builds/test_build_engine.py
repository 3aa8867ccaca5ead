"""`tapflow build` on a small warehouse of its own (tests/builds/project.py), through the real CLI; every
number checked against hand-written SQL over the inputs."""

from __future__ import annotations

import signal
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

from tests.builds.project import add_entities, write_project
from tests.helpers import ROOT, env_for, tapflow

NOW = "2026-11-26T12:00:00"  # builds run up to here: the pinned clock of a warehouse that is not the demo


@pytest.fixture()
def built(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    project = write_project(tmp_path / "project")
    env = env_for(tmp_path / "w.duckdb", project, now=NOW)
    done = tapflow("build", env=env, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return tmp_path / "w.duckdb", env


def rows(db: Path, sql: str, params: list[object] | None = None) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params).fetchall()


def test_history_has_no_gaps_or_overlaps_and_replays_the_change_log(built):
    db, _ = built
    assert rows(db, "SELECT count(*) FROM entity.users_history")[0][0] > 9
    # per key: each row ends where the next begins, only the last is open and current
    bad = rows(
        db,
        """
        SELECT user_id, valid_from FROM (
            SELECT *, lead(valid_from) OVER (PARTITION BY user_id ORDER BY valid_from) AS next_from
            FROM entity.users_history)
        WHERE valid_to IS DISTINCT FROM next_from OR is_current <> (valid_to IS NULL)
        """,
    )
    assert bad == []
    # the state at any date equals the change log replayed to that date (its last change on or before it)
    for day in (date(2026, 6, 15), date(2026, 8, 1), date(2026, 9, 30), date(2026, 11, 20)):
        history = rows(
            db,
            "SELECT user_id, plan, team FROM entity.users_history WHERE valid_from <= ? "
            "AND (valid_to IS NULL OR valid_to > ?) ORDER BY user_id",
            [day, day],
        )
        replayed = rows(
            db,
            "SELECT user_id, arg_max(plan, changed_at), arg_max(team, changed_at) FROM staging.user_changes "
            "WHERE changed_at <= ? GROUP BY user_id ORDER BY user_id",
            [day],
        )
        assert history == replayed, day
    # repeated states are merged: no two consecutive rows of a key hold the same values
    repeats = rows(
        db,
        """
        SELECT count(*) FROM (SELECT plan, team, lag(plan) OVER w AS p, lag(team) OVER w AS t
                              FROM entity.users_history WINDOW w AS (PARTITION BY user_id ORDER BY valid_from))
        WHERE plan = p AND team = t
        """,
    )
    assert repeats == [(0,)]


def test_daily_snapshot_is_the_history_at_each_days_end_with_the_days_events(built):
    db, _ = built
    expected = rows(
        db,
        """
        SELECT CAST(d.day AS DATE), h.user_id, h.plan, h.team,
               (SELECT count(*) FROM staging.events e WHERE e.user_id = h.user_id AND CAST(e.ts AS DATE) = CAST(d.day AS DATE)),
               (SELECT coalesce(sum(actions), 0) FROM staging.events e WHERE e.user_id = h.user_id AND CAST(e.ts AS DATE) = CAST(d.day AS DATE))
        FROM generate_series(TIMESTAMP '2026-06-01', TIMESTAMP '2026-11-26', INTERVAL 1 DAY) d(day)
        JOIN entity.users_history h ON h.valid_from <= CAST(d.day AS DATE)
         AND (h.valid_to IS NULL OR h.valid_to > CAST(d.day AS DATE))
        ORDER BY 1, 2
        """,
    )
    got = rows(db, "SELECT snapshot_date, user_id, plan, team, events, actions FROM entity.users_daily ORDER BY 1, 2")
    assert len(got) > 1000
    assert got == expected
    # the current table: events per user over the whole source
    assert rows(db, "SELECT user_id, events FROM entity.users ORDER BY 1") == rows(
        db, "SELECT user_id, count(*) FROM staging.events GROUP BY 1 ORDER BY 1"
    )


def test_late_rows_within_the_lookback_are_built_older_ones_reported_then_rebuilt(built):
    db, env = built
    with duckdb.connect(str(db)) as con:  # 2 days and 10 days before the last build's end, arriving now
        con.execute(
            "INSERT INTO staging.events VALUES (4, TIMESTAMP '2026-11-24 10:00', now(), 7), "
            "(4, TIMESTAMP '2026-11-16 09:00', now(), 3), (5, TIMESTAMP '2026-11-16 10:00', now(), 3)"
        )
    done = tapflow("build", "entity.users_daily", env=env)
    assert done.returncode == 0, done.stderr
    assert "late: 2 row(s) of staging.events" in done.stdout
    assert "tapflow build entity.users_daily --start 2026-11-16 --end 2026-11-17" in done.stdout
    day = "SELECT events, actions FROM entity.users_daily WHERE user_id = ? AND snapshot_date = ?"
    assert rows(db, day, [4, date(2026, 11, 24)]) == [(1, 7)]  # within the lookback: in
    assert rows(db, day, [4, date(2026, 11, 16)]) == [(0, 0)]  # beyond it: not yet, but counted
    status = tapflow("status", "--format", "json", env=env)
    assert '"count": 2' in status.stdout and "--start 2026-11-16 --end 2026-11-17" in status.stdout
    again = tapflow("build", "entity.users_daily", "--start", "2026-11-16", "--end", "2026-11-17", env=env)
    assert again.returncode == 0, again.stderr
    assert rows(db, day, [4, date(2026, 11, 16)]) == [(1, 3)]
    assert rows(db, day, [5, date(2026, 11, 16)]) == [(1, 3)]
    assert '"late_rows": []' in tapflow("status", "--format", "json", env=env).stdout  # resolved


def test_a_killed_build_resumes_at_its_first_unfinished_batch_and_equals_a_clean_build(tmp_path):
    project = write_project(tmp_path / "project")
    env = env_for(tmp_path / "w.duckdb", project, now=NOW)
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "build"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    seen = 0
    for line in proc.stderr:  # one plain line per finished batch
        if line.startswith("entity.users_daily ["):
            seen += 1
            if seen == 20:
                proc.send_signal(signal.SIGKILL)
                break
    proc.communicate(timeout=60)  # reaps it and closes the pipes
    assert proc.returncode == -signal.SIGKILL
    again = tapflow("build", env=env, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "resuming" in again.stdout
    skipped = int(again.stdout.split("resuming: ")[1].split(" batch")[0])
    assert skipped >= 22  # the two full tables and at least 20 daily batches were done before the kill
    resumed = rows(tmp_path / "w.duckdb", "SELECT * FROM entity.users_daily ORDER BY ALL")
    clean_env = env_for(tmp_path / "clean.duckdb", project, now=NOW)
    assert tapflow("build", env=clean_env, timeout=300).returncode == 0
    assert resumed == rows(tmp_path / "clean.duckdb", "SELECT * FROM entity.users_daily ORDER BY ALL")
    assert rows(tmp_path / "w.duckdb", "SELECT count(*) FROM meta.build_runs WHERE status <> 'success'") == [(0,)]


def test_a_failing_batch_is_rolled_back_and_the_run_recorded(tmp_path):
    project = write_project(tmp_path / "project")
    yml = project / "entities" / "users.yml"
    # the batch of 2026-07-01 divides by zero: that batch fails, those before it stay built
    yml.write_text(
        yml.read_text()
        .replace(
            "coalesce(e.actions, 0) as actions",
            "coalesce(e.actions, 0) // (CASE WHEN s.snapshot_date = DATE '2026-07-01' THEN 0 ELSE 1 END) as actions",
        )
        .replace('{expression: "events >= 0"}', '{expression: "events >= 0"}, {unique: [user_id, snapshot_date]}')
    )
    env = env_for(tmp_path / "w.duckdb", project, now=NOW)
    done = tapflow("build", env=env, timeout=300)
    assert done.returncode == 1
    assert "entity.users_daily, batch [2026-07-01 00:00, 2026-07-02 00:00) failed and was rolled back" in done.stderr
    db = tmp_path / "w.duckdb"
    assert rows(db, "SELECT max(snapshot_date) FROM entity.users_daily") == [(date(2026, 6, 30),)]
    assert rows(
        db, "SELECT status, count(*) FROM meta.build_runs WHERE table_name = 'entity.users_daily' GROUP BY 1 ORDER BY 1"
    ) == [("failed", 1), ("pending", 148), ("success", 30)]
    assert rows(db, "SELECT status FROM meta.builds") == [("failed",)]


def test_dry_run_prints_the_plan_and_builds_nothing(tmp_path):
    project = write_project(tmp_path / "project")
    env = env_for(tmp_path / "w.duckdb", project, now=NOW)
    done = tapflow("build", "--dry-run", env=env)
    assert done.returncode == 0, done.stderr
    assert "entity.users_daily" in done.stdout and "179 batch(es) [2026-06-01, 2026-11-26)" in done.stdout
    assert rows(tmp_path / "w.duckdb", "SELECT count(*) FROM meta.builds") == [(0,)]


def test_a_duplicate_key_fails_the_unique_test(built):
    db, env = built
    with duckdb.connect(str(db)) as con:
        con.execute("INSERT INTO staging.users VALUES (3, 'user 3 again')")
    done = tapflow("build", "entity.users", env=env)
    assert done.returncode == 1
    assert "FAIL unique(user_id) on entity.users: 1 failing; sample: 3" in done.stdout
    tested = tapflow("test", env=env)
    assert tested.returncode == 1
    assert "FAIL unique(user_id) on entity.users: 1 failing; sample keys: 3" in tested.stdout
    status = tapflow("status", env=env)
    assert status.returncode == 1 and "1 failing test(s)" in status.stdout


def test_successive_states_make_a_history_with_check_columns(tmp_path):
    project = write_project(tmp_path / "project")
    add_entities(
        project,
        """
  - name: plans
    primary_key: user_id
    tables:
      current: staging.users
      history:
        name: entity.plan_history
        timestamp: valid_from
        build: {scd2: {from: entity.users, unique_key: user_id, check_columns: [events]}}
""",
    )
    db = tmp_path / "w.duckdb"
    for now, extra in (("2026-11-01T00:00:00", 0), ("2026-11-02T00:00:00", 0), ("2026-11-03T00:00:00", 1)):
        if extra:
            with duckdb.connect(str(db)) as con:
                con.execute("INSERT INTO staging.events VALUES (2, TIMESTAMP '2026-11-02 10:00', now(), 1)")
        env = env_for(db, project, now=now)
        assert tapflow("build", "entity.users", "entity.plan_history", env=env).returncode == 0
    history = rows(
        db,
        "SELECT user_id, valid_from, valid_to, is_current FROM entity.plan_history WHERE user_id = 2 "
        "ORDER BY valid_from",
    )
    first, second = (date(2026, 11, 1), date(2026, 11, 3))
    assert [(r[0], r[1].date(), r[2] and r[2].date(), r[3]) for r in history] == [
        (2, first, second, False),
        (2, second, None, True),
    ]
    assert rows(db, "SELECT count(*) FROM entity.plan_history WHERE is_current") == [(9,)]


def test_a_batch_past_its_time_limit_is_interrupted_and_rolled_back(tmp_path):
    project = write_project(tmp_path / "project")
    yml = project / "entities" / "users.yml"
    slow = "select u.user_id, u.name, (select count(*) from range(100000000000) r(i) where i % 7 = 5) as events"
    yml.write_text(
        yml.read_text().replace(
            "select u.user_id, u.name, count(e.user_id) as events\n            from staging.users u left join "
            "staging.events e using (user_id)\n            group by all",
            slow + "\n            from staging.users u",
        )
    )
    env = env_for(tmp_path / "w.duckdb", project, now=NOW, TAPFLOW_BUILD_BATCH_TIMEOUT_S="0.5")
    done = tapflow("build", "entity.users", env=env, timeout=120)
    assert done.returncode == 1
    assert (
        "entity.users, batch" in done.stderr and "ran longer than 0.5 s (TAPFLOW_BUILD_BATCH_TIMEOUT_S)" in done.stderr
    )
    db = tmp_path / "w.duckdb"
    assert rows(db, "SELECT status FROM meta.build_runs WHERE table_name = 'entity.users'") == [("failed",)]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--start", "2026-10-01", "--end", "2026-09-01"], "start (2026-10-01) must be before end (2026-09-01"),
        (["--start", "0001-01-01"], "between 1900-01-01 and 9000-01-01, not 0001-01-01"),
        (["--end", "9999-12-31"], "between 1900-01-01 and 9000-01-01, not 9999-12-31"),
        (["--start", "1900-01-01", "--end", "2200-01-01"], "more than 100,000; build a shorter range"),
    ],
)
def test_a_range_no_one_means_is_refused_before_anything_runs(tmp_path, args, words):
    project = write_project(tmp_path / "project")
    env = env_for(tmp_path / "w.duckdb", project, now=NOW)
    done = tapflow("build", "entity.users_daily", *args, env=env)
    assert done.returncode == 1 and words in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert rows(tmp_path / "w.duckdb", "SELECT count(*) FROM meta.builds") == [(0,)]


def test_a_resumed_build_also_builds_a_table_added_since_and_empty_batches_keep_the_data_version(tmp_path):
    project = write_project(tmp_path / "project")
    yml = project / "entities" / "users.yml"
    original = yml.read_text()
    yml.write_text(original.replace("coalesce(e.actions, 0) as actions", "coalesce(e.actions, 0) // 0 as actions"))
    env = env_for(tmp_path / "w.duckdb", project, now=NOW)
    assert tapflow("build", env=env).returncode == 1
    yml.write_text(original)  # the failing build fixed
    add_entities(
        project,
        """
  - name: plans
    primary_key: plan
    tables:
      current:
        name: entity.plans
        build: {sql: "select plan, count(*) as changes from staging.user_changes group by all"}
""",
    )
    again = tapflow("build", env=env)
    assert again.returncode == 0, again.stderr
    assert "resuming" in again.stdout and "entity.plans" in again.stdout
    db = tmp_path / "w.duckdb"
    assert rows(db, "SELECT plan, changes FROM entity.plans ORDER BY 1") == rows(
        db, "SELECT plan, count(*) FROM staging.user_changes GROUP BY 1 ORDER BY 1"
    )
    versions = rows(db, "SELECT count(*) FROM meta.data_versions")
    empty = tapflow("build", "entity.users_daily", "--start", "2020-01-01", "--end", "2020-01-05", env=env)
    assert empty.returncode == 0 and "4 batch(es)" in empty.stdout
    assert rows(db, "SELECT count(*) FROM meta.data_versions") == versions  # nothing changed, nothing to forget


def test_a_timestamp_that_is_not_a_time_leaves_the_morning_check_standing(tmp_path):
    project = write_project(tmp_path / "project")
    add_entities(
        project,
        """
  - name: notes
    primary_key: id
    tables:
      current:
        name: entity.notes
        timestamp: ts
        freshness: {warn_after: 1h}
        build: {sql: "select 1 as id, 'not a time' as ts"}
""",
    )
    env = env_for(tmp_path / "w.duckdb", project, now=NOW)
    assert tapflow("build", env=env).returncode == 0
    status = tapflow("status", env=env)
    assert status.returncode == 0 and "Traceback" not in status.stderr
    assert "stale: not a time" in status.stdout
