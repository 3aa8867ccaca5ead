"""A tiny TapFlow warehouse made by hand, for checking the compiler's numbers against hand-written SQL.

The real schema (every migration applied) holds a few customers, subscriptions, users, teams and
devices, with the awkward cases written in on purpose: a customer whose tier changes mid-quarter,
customers that are not active on some days, snapshots that differ from day to day (so "the last
snapshot" and "a sum of days" give different numbers), a month without any activity (for fill), rows
whose relationship points to a row that does not exist (NULL dimension values), timestamps exactly on
query bounds, and subscription data over two years (for prior_year).

Building it takes about a second (the demo generator's data takes several); ``warehouse_file`` builds it
once into the temporary folder, keyed by the content of this file and of the migrations, and every later
session opens that file read-only: mutation testing runs the tests in a new session for each mutant.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from functools import lru_cache
from pathlib import Path

import duckdb

from app.engine.database import read_catalog
from app.engine.migrations import apply_migrations

ROOT = Path(__file__).resolve().parents[2]

CUSTOMERS = [
    # id, name, signup, churn, status, tier, segment, region, country, seats, mrr, arr
    (1, "Acme", "2024-06-01", None, "active", "growth", "SMB", "NA", "US", 10, 500, 6000),
    (2, "Bolt", "2024-09-01", None, "active", "enterprise", "Enterprise", "EMEA", "DE", 50, 900, 10800),
    (3, "Cask", "2025-02-10", None, "active", "starter", "SMB", "EMEA", "FR", 3, 120, 1440),
    (4, "Dune", "2024-01-15", "2025-05-15", "churned", "growth", "Mid-Market", "APAC", "JP", 0, 0, 0),
    (5, "Echo", "2024-03-01", None, "active", "free", "SMB", "LATAM", "BR", 1, 0, 0),
    (6, "Fern", "2024-11-01", None, "trialing", "enterprise", "Mid-Market", "NA", "US", 20, 300, 3600),
]

DAILY = """
INSERT INTO entity.entity_customers_daily
    (snapshot_date, customer_id, customer_status, customer_tier, customer_segment, sales_region,
     active_subscriptions, monthly_recurring_revenue, annual_recurring_revenue, lifetime_revenue)
SELECT d, c.customer_id,
       CASE WHEN c.customer_id = 4 AND d >= DATE '2025-05-15' THEN 'churned'
            WHEN c.customer_id = 6 AND d < DATE '2025-04-01' THEN 'trialing'
            WHEN c.customer_id = 2 AND d BETWEEN DATE '2025-02-14' AND DATE '2025-02-16' THEN 'inactive'
            ELSE 'active' END,
       CASE WHEN c.customer_id = 1 AND d >= DATE '2025-03-16' THEN 'enterprise' ELSE c.customer_tier END,
       c.customer_segment, c.sales_region, c.customer_id,
       c.customer_id * 100 + month(d) * 10 + dayofmonth(d) % 7,
       (c.customer_id * 100 + month(d) * 10 + dayofmonth(d) % 7) * 12,
       c.customer_id * 1000 + dayofyear(d)
FROM entity.entity_customers AS c,
     (SELECT CAST(range AS DATE) AS d FROM range(DATE '2025-01-01', DATE '2025-06-30', INTERVAL 1 DAY))
WHERE NOT (c.customer_id = 3 AND d < DATE '2025-02-10') AND NOT (c.customer_id = 5 AND d > DATE '2025-05-20')
"""

# subscription -> (customer, product line, first month, last month); customer 99 does not exist
SUBSCRIPTIONS = [
    (1, 1, "core", "2024-01-01", "2025-06-01"),
    (2, 2, "analytics", "2024-03-01", "2025-06-01"),
    (3, 2, "core", "2024-07-01", "2025-06-01"),
    (4, 3, "automation", "2025-02-01", "2025-06-01"),
    (5, 4, "core", "2024-02-01", "2025-04-01"),
    (6, 5, "security", "2025-01-01", "2025-01-01"),
    (7, 6, "analytics", "2024-11-01", "2025-06-01"),
    (8, 99, "security", "2024-05-01", "2025-03-01"),
]

MONTHLY = """
INSERT INTO entity.entity_subscriptions_monthly
SELECT m, s.subscription_id, s.customer_id, s.product_line,
       CASE WHEN m = s.last_month AND s.last_month < DATE '2025-06-01' THEN 'cancelled' ELSE 'active' END,
       s.subscription_id + month(m), 10.0 * s.subscription_id,
       (s.subscription_id + month(m)) * 10.0 * s.subscription_id,
       CASE WHEN m = s.first_month THEN 50 + s.subscription_id * 7 + month(m) ELSE 0 END,
       (s.subscription_id * month(m) + year(m)) % 30,
       (s.subscription_id + month(m)) % 20,
       CASE WHEN m = s.last_month AND s.last_month < DATE '2025-06-01' THEN 40 + s.subscription_id ELSE 0 END
FROM subs AS s,
     (SELECT CAST(range AS DATE) AS m FROM range(DATE '2024-01-01', DATE '2025-07-01', INTERVAL 1 MONTH))
WHERE m BETWEEN s.first_month AND s.last_month
"""

TEAMS = [
    # id, customer, name, type, created, size, active
    (1, 1, "Core", "engineering", "2024-06-02", 5, True),
    (2, 1, "Deals", "sales", "2024-06-03", 3, True),
    (3, 2, "Ops", "operations", "2024-09-05", 8, True),
    (4, 99, "Ghost", "finance", "2024-01-01", 2, False),
]

# user -> (team, customer, role); user 10's team does not exist
USERS = [
    (1, 1, 1, "admin"),
    (2, 1, 1, "member"),
    (3, 2, 1, "viewer"),
    (4, 2, 1, "member"),
    (5, 3, 2, "admin"),
    (6, 3, 2, "member"),
    (7, 3, 2, "member"),
    (8, 4, 99, "viewer"),
    (9, 1, 1, "member"),
    (10, 99, 3, "admin"),
]

FEATURES = ["dashboards", "reports", "alerts", "integrations", "api", "collaboration"]

# one activity every 7 hours (some at :15, :30, :45) from 2024-01-01 to 2025-04; none in March 2025
ACTIVITIES = """
INSERT INTO staging.stg_app__user_activities
SELECT 1 + i % 10, 1 + i // 3,
       TIMESTAMP '2024-01-01 00:00:00' + to_hours(i * 7) + to_minutes((i % 4) * 15),
       i % 9, ['dashboards', 'reports', 'alerts', 'integrations', 'api', 'collaboration'][1 + i % 6],
       TIMESTAMP '2024-01-01 00:00:00' + to_hours(i * 7 + 2)
FROM range(0, 1670) AS r(i)
WHERE month(TIMESTAMP '2024-01-01 00:00:00' + to_hours(i * 7)) <> 3
   OR year(TIMESTAMP '2024-01-01 00:00:00' + to_hours(i * 7)) <> 2025
"""

TEAMS_DAILY = """
INSERT INTO entity.entity_teams_daily
SELECT d, t.team_id, t.customer_id, 3 + t.team_id + dayofmonth(d) % 3,
       (t.team_id + dayofmonth(d)) % 4, (t.team_id * dayofmonth(d)) % 11, (t.team_id + dayofyear(d)) % 17,
       (t.team_id + dayofmonth(d)) % 7, ((t.team_id + dayofmonth(d)) % 7) / 6.0,
       ((t.team_id * 3 + dayofmonth(d)) % 5) / 4.0, 0.0, 0.0
FROM entity.entity_teams AS t,
     (SELECT CAST(range AS DATE) AS d FROM range(DATE '2025-01-01', DATE '2025-04-01', INTERVAL 1 DAY))
WHERE t.team_id <> 4 OR d <= DATE '2025-03-20'
"""

LOCATIONS = [
    (1, 1, "Boston HQ", "Boston", "US", "NA", "2024-06-01"),
    (2, 2, "Berlin", "Berlin", "DE", "EMEA", "2024-09-01"),
    (3, 99, "Nowhere", "Lima", "PE", "LATAM", "2024-01-01"),
]

# device -> (location, customer, type, os); location 9 does not exist
DEVICES = [
    (1, 1, 1, "kiosk", "linux"),
    (2, 2, 2, "tablet", "android"),
    (3, 1, 1, "sensor", "rtos"),
    (4, 9, 1, "pos", "linux"),
    (5, 3, 99, "kiosk", "linux"),
]

HOURLY = """
INSERT INTO entity.entity_devices_hourly
SELECT h, d.device_id, d.location_id, (hour(h) + d.device_id) % 4 <> 0,
       (hour(h) * d.device_id + dayofmonth(h)) % 13, (hour(h) + d.device_id) % 3,
       CASE WHEN (hour(h) + d.device_id) % 4 = 0 THEN 0 WHEN hour(h) % 5 = 0 THEN 1800 ELSE 3600 END
FROM entity.entity_devices AS d,
     (SELECT range AS h FROM range(TIMESTAMP '2025-03-01 00:00:00', TIMESTAMP '2025-03-04 00:00:00', INTERVAL 1 HOUR))
"""

FACTS = """
INSERT INTO legacy.customer_facts
SELECT m, c.customer_id, c.customer_name, c.customer_tier, c.customer_segment, c.sales_region,
       NOT (c.customer_id = 4 AND m >= DATE '2025-05-01'), c.seats,
       c.customer_id * 100 + month(m) * 10, (c.customer_id * 100 + month(m) * 10) * 12,
       c.customer_id * 1000 + month(m) * 37
FROM entity.entity_customers AS c,
     (SELECT CAST(range AS DATE) AS m FROM range(DATE '2025-01-01', DATE '2025-07-01', INTERVAL 1 MONTH))
"""

# SCD type 2 histories that agree with the current tables at every time (one row each, valid since
# 2000), so joined dimensions read as of each row's time equal today's here: the hand-written SQL
# of these tests joins the current tables. Point-in-time joins over a history that changes are
# checked on the demo data (tests/api/test_point_in_time.py).
HISTORY = """
INSERT INTO entity.entity_customers_history
SELECT customer_id, DATE '2000-01-01', NULL, customer_tier, customer_segment, sales_region, true
FROM entity.entity_customers;
INSERT INTO entity.entity_teams_history
SELECT team_id, customer_id, team_name, team_type, NULL, DATE '2000-01-01', NULL, true FROM entity.entity_teams
"""


def build(con: duckdb.DuckDBPyConnection) -> None:
    """Apply the migrations and fill the tables (the demo seed is not used)."""
    apply_migrations(con, ROOT / "migrations")
    con.executemany("INSERT INTO entity.entity_customers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", CUSTOMERS)
    con.execute(DAILY)
    con.execute(
        "CREATE TEMP TABLE subs (subscription_id INTEGER, customer_id INTEGER, product_line VARCHAR,"
        " first_month DATE, last_month DATE)"
    )
    con.executemany("INSERT INTO subs VALUES (?, ?, ?, ?, ?)", SUBSCRIPTIONS)
    con.execute(MONTHLY)
    con.executemany("INSERT INTO entity.entity_teams VALUES (?, ?, ?, ?, ?, ?, ?)", TEAMS)
    con.executemany("INSERT INTO entity.entity_users VALUES (?, ?, ?, ?, DATE '2024-01-01', NULL, true)", USERS)
    con.execute(ACTIVITIES)
    con.execute(TEAMS_DAILY)
    con.executemany("INSERT INTO entity.entity_locations VALUES (?, ?, ?, ?, ?, ?, ?)", LOCATIONS)
    con.executemany("INSERT INTO entity.entity_devices VALUES (?, ?, ?, ?, ?, DATE '2024-01-01', 'active')", DEVICES)
    con.execute(HOURLY)
    con.execute(FACTS)
    con.execute(HISTORY)


def warehouse_file() -> Path:
    """The warehouse as a DuckDB file, built on first use for this content of the data and the schema."""
    inputs = [Path(__file__), ROOT / "app" / "engine" / "migrations.py"]
    inputs += sorted((ROOT / "migrations").glob("*.sql")) + sorted((ROOT / "app" / "engine").rglob("*.sql"))
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in inputs)).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"tapflow-tiny-warehouse-{digest}.duckdb"
    if not path.is_file():
        partial = path.with_name(f"{path.stem}.{os.getpid()}.tmp")
        with duckdb.connect(str(partial)) as con:
            build(con)
        os.replace(partial, path)  # atomic: a concurrent reader sees the whole file or none
    return path


@lru_cache(maxsize=1)
def catalog() -> dict[str, dict[str, str]]:
    """The warehouse's catalog (the same schema as the ``catalog`` fixture: every migration applied)."""
    with duckdb.connect(str(warehouse_file()), read_only=True) as con:
        return read_catalog(con)
