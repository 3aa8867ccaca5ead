"""The demo built from its inputs (entities/*.yml): every built number against hand-written SQL over the staging
tables, or an invariant that must hold."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from tests.helpers import env_for, tapflow


@pytest.fixture(scope="module")
def db(demo_con):
    return demo_con


def test_every_entity_table_is_built_from_the_definitions(db) -> None:
    built = dict(db.execute("SELECT table_name, sum(rows_out) FROM meta.build_runs GROUP BY 1").fetchall())
    tables = [
        r[0]
        for r in db.execute(
            "SELECT schema_name || '.' || table_name FROM duckdb_tables() WHERE schema_name IN ('entity', 'rollup')"
        ).fetchall()
    ]
    assert sorted(built) == sorted(tables)
    for table in tables:
        assert db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] > 0, table
    assert db.execute("SELECT status FROM meta.builds").fetchall() == [("success",)]
    assert db.execute("SELECT count(*) FROM meta.test_results WHERE status <> 'pass'").fetchone() == (0,)


def test_team_days_count_the_activities_of_their_users(db) -> None:
    by_hand = db.execute(
        """
        SELECT u.team_id, CAST(a.activity_timestamp AS DATE) AS day, count(DISTINCT a.user_id),
               count(DISTINCT a.session_id), sum(a.actions_taken), count(DISTINCT a.feature)
        FROM staging.stg_app__user_activities a JOIN staging.stg_crm__users u USING (user_id)
        GROUP BY ALL ORDER BY 1, 2
        """
    ).fetchall()
    built = db.execute(
        "SELECT team_id, snapshot_date, active_users, sessions, actions, features_used FROM entity.entity_teams_daily "
        "WHERE active_users > 0 ORDER BY 1, 2"
    ).fetchall()
    assert len(built) > 10_000
    assert built == by_hand
    # team_size: users created on or before the day and not yet deactivated
    sizes = db.execute(
        """
        SELECT count(*) FILTER (WHERE d.team_size <> (
                   SELECT count(*) FROM staging.stg_crm__users u WHERE u.team_id = d.team_id
                   AND u.created_at <= d.snapshot_date AND (u.deactivated_at IS NULL OR u.deactivated_at > d.snapshot_date))),
               count(*)
        FROM (SELECT * FROM entity.entity_teams_daily USING SAMPLE 3000 ROWS (reservoir, 7)) d
        """
    ).fetchone()
    assert sizes == (0, 3000)


@pytest.mark.parametrize(
    ("history", "log", "key", "columns"),
    [
        (
            "entity.entity_teams_history",
            "staging.stg_crm__team_changes",
            "team_id",
            ["team_name", "team_type", "team_lead_user_id"],
        ),
        (
            "entity.entity_customers_history",
            "staging.stg_crm__customer_changes",
            "customer_id",
            ["customer_tier", "customer_segment", "sales_region"],
        ),
    ],
)
def test_history_has_no_gap_or_overlap_and_is_the_change_log_replayed(db, history, log, key, columns) -> None:
    bad = db.execute(
        f"""
        SELECT count(*) FROM (
            SELECT *, lead(valid_from) OVER (PARTITION BY {key} ORDER BY valid_from) AS next_from FROM {history})
        WHERE valid_to IS DISTINCT FROM next_from OR is_current <> (valid_to IS NULL) OR valid_to <= valid_from
        """
    ).fetchone()
    assert bad == (0,)
    cols = ", ".join(columns)
    latest = ", ".join(f"arg_max({c}, changed_at)" for c in columns)
    for day in (date(2024, 3, 1), date(2025, 1, 15), date(2025, 9, 30), date(2026, 10, 31)):
        state = db.execute(
            f"SELECT {key}, {cols} FROM {history} WHERE valid_from <= ? AND (valid_to IS NULL OR valid_to > ?) "
            "ORDER BY ALL",
            [day, day],
        ).fetchall()
        replayed = db.execute(
            f"SELECT {key}, {latest} FROM {log} WHERE changed_at <= ? GROUP BY {key} ORDER BY ALL", [day]
        ).fetchall()
        assert state and state == replayed, day


def test_daily_snapshots_are_the_history_at_each_days_end(db) -> None:
    mismatched = db.execute(
        """
        SELECT count(*), count(*) FILTER (WHERE h.customer_id IS NULL
                   OR (d.customer_tier, d.customer_segment, d.sales_region)
                      IS DISTINCT FROM (h.customer_tier, h.customer_segment, h.sales_region))
        FROM entity.entity_customers_daily d
        LEFT JOIN staging.stg_crm__customer_changes h ON h.customer_id = d.customer_id AND h.changed_at = (
            SELECT max(changed_at) FROM staging.stg_crm__customer_changes x
            WHERE x.customer_id = d.customer_id AND x.changed_at <= d.snapshot_date)
        """
    ).fetchone()
    assert mismatched[0] > 100_000 and mismatched[1] == 0
    teams = db.execute(
        """
        SELECT count(*) FROM entity.entity_teams_daily d
        WHERE d.customer_id IS DISTINCT FROM (
            SELECT arg_max(customer_id, changed_at) FROM staging.stg_crm__team_changes c
            WHERE c.team_id = d.team_id AND c.changed_at <= d.snapshot_date)
        """
    ).fetchone()
    assert teams == (0,)


def test_monthly_mrr_movements_add_up_and_mrr_is_seats_times_price(db) -> None:
    per_row = db.execute(
        """
        SELECT count(*) FROM (
            SELECT *, coalesce(lag(mrr) OVER (PARTITION BY subscription_id ORDER BY month_start), 0) AS prev
            FROM entity.entity_subscriptions_monthly)
        WHERE prev + new_mrr + expansion_mrr - contraction_mrr - churned_mrr <> mrr
        """
    ).fetchone()
    assert per_row == (0,)
    months = db.execute(
        """
        SELECT month_start, sum(mrr), sum(new_mrr + expansion_mrr - contraction_mrr - churned_mrr)
        FROM entity.entity_subscriptions_monthly GROUP BY 1 ORDER BY 1
        """
    ).fetchall()
    for (_, start, _), (month, end, moved) in zip(months, months[1:], strict=False):
        assert start + moved == end, month  # start + new + expansion - contraction - churned = end
    # MRR from billing by hand: the seats in effect at the month's end times the price, 0 once cancelled
    differ = db.execute(
        """
        SELECT count(*) FILTER (WHERE m.mrr <> CASE
                   WHEN b.cancelled_at IS NOT NULL AND b.cancelled_at <= last_day(m.month_start) THEN 0
                   ELSE (SELECT arg_max(quantity, changed_at) FROM staging.stg_billing__seat_changes c
                         WHERE c.subscription_id = m.subscription_id AND c.changed_at <= last_day(m.month_start))
                        * b.unit_price END),
               count(*)
        FROM entity.entity_subscriptions_monthly m JOIN staging.stg_billing__subscriptions b USING (subscription_id)
        """
    ).fetchone()
    assert differ[1] > 5000 and differ[0] == 0


def test_late_activity_is_built_or_reported_then_rebuilt(demo_db: Path, tmp_path: Path) -> None:
    copy = tmp_path / "tapflow.duckdb"
    shutil.copy(demo_db, copy)
    with duckdb.connect(str(copy)) as con:  # two days before the data ends, and 40 (a month batch back)
        con.execute(
            "INSERT INTO staging.stg_app__user_activities SELECT user_id, 999000000 + row_number() OVER (), "
            "TIMESTAMP '2026-10-29 10:00', 5, 'api', now() FROM (SELECT DISTINCT user_id FROM staging.stg_crm__users "
            "WHERE deactivated_at IS NULL ORDER BY user_id LIMIT 3)"
        )
        con.execute(
            "INSERT INTO staging.stg_app__user_activities SELECT user_id, 999100000 + row_number() OVER (), "
            "TIMESTAMP '2026-09-21 10:00', 5, 'api', now() FROM (SELECT DISTINCT user_id FROM staging.stg_crm__users "
            "WHERE deactivated_at IS NULL ORDER BY user_id LIMIT 2)"
        )
    env = env_for(copy)
    table = "entity.entity_user_engagement_daily"
    done = tapflow("build", table, env=env)
    assert done.returncode == 0, done.stderr
    assert "late: 2 row(s) of staging.stg_app__user_activities" in done.stdout
    assert f"tapflow build {table} --start 2026-09-21 --end 2026-09-22" in done.stdout
    sessions = "SELECT sum(sessions) FROM entity.entity_user_engagement_daily WHERE activity_date = ?"
    truth = "SELECT count(DISTINCT (user_id, session_id)) FROM staging.stg_app__user_activities WHERE CAST(activity_timestamp AS DATE) = ?"
    with duckdb.connect(str(copy), read_only=True) as con:
        assert (
            con.execute(sessions, [date(2026, 10, 29)]).fetchone()
            == con.execute(truth, [date(2026, 10, 29)]).fetchone()
        )
        assert (
            con.execute(sessions, [date(2026, 9, 21)]).fetchone()[0]
            == con.execute(truth, [date(2026, 9, 21)]).fetchone()[0] - 2
        )
    assert "--start 2026-09-21 --end 2026-09-22" in tapflow("status", env=env).stdout
    again = tapflow("build", table, "--start", "2026-09-21", "--end", "2026-09-22", env=env)
    assert again.returncode == 0, again.stderr
    with duckdb.connect(str(copy), read_only=True) as con:
        assert (
            con.execute(sessions, [date(2026, 9, 21)]).fetchone() == con.execute(truth, [date(2026, 9, 21)]).fetchone()
        )
    assert "Late rows" not in tapflow("status", env=env).stdout


def test_metric_tests_fail_on_a_broken_assertion(demo_db: Path, project_copy: Path, tmp_path: Path) -> None:
    copy = tmp_path / "tapflow.duckdb"
    shutil.copy(demo_db, copy)
    revenue = project_copy / "metrics" / "revenue.yml"
    revenue.write_text(revenue.read_text().replace("assertions: ['arr = 12 * mrr']", "assertions: ['arr = 11 * mrr']"))
    done = tapflow("test", env=env_for(copy, project_copy))
    assert done.returncode == 1
    assert "FAIL assert(arr = 11 * mrr) on metric:arr: " in done.stdout
    passing = tapflow("test", env=env_for(copy))
    assert passing.returncode == 0, passing.stdout
