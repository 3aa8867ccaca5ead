"""A small warehouse with builds of every kind, written into a temporary folder: a change log, events that
arrive late, and a users entity with current, SCD2, daily-snapshot and incremental tables."""

from __future__ import annotations

from pathlib import Path

MIGRATION = """
CREATE SCHEMA IF NOT EXISTS staging;
CREATE SCHEMA IF NOT EXISTS entity;
-- 9 users change plan and team now and then (some changes repeat a state: they are not real changes)
CREATE TABLE staging.user_changes AS
SELECT u AS user_id, DATE '2026-06-01' + CAST(k * 37 + (u * 11) % 23 AS INTEGER) AS changed_at,
       ['free', 'pro', 'team'][1 + (u + k // 2) % 3] AS plan, 'team ' || ((u + k) % 3)::VARCHAR AS team
FROM range(1, 10) a(u), range(0, 4) b(k);
CREATE TABLE staging.users AS SELECT u AS user_id, 'user ' || u::VARCHAR AS name FROM range(1, 10) a(u);
-- events every 3 hours per user from June to October; each arrived 2 hours after it happened
CREATE TABLE staging.events AS
SELECT 1 + i % 9 AS user_id, TIMESTAMP '2026-06-01' + INTERVAL (i * 20) MINUTE AS ts,
       TIMESTAMP '2026-06-01' + INTERVAL (i * 20 + 120) MINUTE AS loaded_at, 1 + i % 5 AS actions
FROM range(0, 153 * 72) t(i);
"""

ENTITIES = """
version: 2
entities:
  - name: users
    primary_key: user_id
    tables:
      current:
        name: entity.users
        build:
          sql: |
            select u.user_id, u.name, count(e.user_id) as events
            from staging.users u left join staging.events e using (user_id)
            group by all
        tests: [{unique: user_id}, {not_null: [user_id, name]}]
      history:
        name: entity.users_history
        timestamp: valid_from
        build: {scd2: {from: staging.user_changes, unique_key: user_id, updated_at: changed_at}}
        tests: [{accepted_values: {column: plan, values: [free, pro, team]}}]
      daily:
        name: entity.users_daily
        timestamp: snapshot_date
        build:
          snapshot: {from: history, grain: day}
          sql: |
            select s.*, coalesce(e.events, 0) as events, coalesce(e.actions, 0) as actions
            from snapshot s left join (
              select user_id, cast(ts as date) as snapshot_date, count(*) as events, sum(actions) as actions
              from staging.events where ts >= $start and ts < $end group by all) e
            using (user_id, snapshot_date)
          incremental:
            by: snapshot_date
            batch: day
            lookback_days: 3
            late: {table: staging.events, time: ts, loaded_at: loaded_at}
          start: 2026-06-01
        tests: [{relationships: {column: user_id, to: users}}, {expression: "events >= 0"}]
"""


def write_project(root: Path) -> Path:
    (root / "migrations").mkdir(parents=True)
    (root / "entities").mkdir()
    (root / "metrics").mkdir()
    (root / "migrations" / "0001_sources.sql").write_text(MIGRATION)
    (root / "entities" / "users.yml").write_text(ENTITIES)
    return root


def add_entities(project: Path, text: str) -> None:
    """Append entities (YAML list items, indented as in ENTITIES) to the project's users.yml."""
    yml = project / "entities" / "users.yml"
    yml.write_text(yml.read_text() + text)
