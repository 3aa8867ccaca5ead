-- The demo becomes a pipeline (DESIGN 10): `tapflow seed` writes only what a company has as
-- input (CRM, billing, app events, device telemetry, the legacy customer_facts), and every
-- entity.* table is built from the `build:` of its definition in entities/*.yml. Inputs carry no
-- keys (a staging table holds what arrived): the tests beside each entity table check them.

-- CRM: customers, their attribute changes, teams' changes, users, locations -----------------
CREATE TABLE staging.stg_crm__customers (
    customer_id   INTEGER NOT NULL,
    customer_name VARCHAR NOT NULL,
    signup_date   DATE NOT NULL,
    churn_date    DATE,                            -- NULL while a customer
    country       VARCHAR NOT NULL
);

CREATE TABLE staging.stg_crm__customer_changes (   -- one row per version, in effect from changed_at
    customer_id      INTEGER NOT NULL,
    changed_at       DATE NOT NULL,
    customer_tier    VARCHAR NOT NULL,             -- free | starter | growth | enterprise
    customer_segment VARCHAR NOT NULL,             -- SMB | Mid-Market | Enterprise
    sales_region     VARCHAR NOT NULL              -- NA | EMEA | APAC | LATAM
);

CREATE TABLE staging.stg_crm__team_changes (       -- one row per version of a team, from changed_at
    team_id           INTEGER NOT NULL,
    customer_id       INTEGER NOT NULL,
    team_name         VARCHAR NOT NULL,
    team_type         VARCHAR NOT NULL,
    team_lead_user_id BIGINT,
    changed_at        DATE NOT NULL                -- the first change is the team's creation
);

CREATE TABLE staging.stg_crm__users (
    user_id        BIGINT NOT NULL,
    team_id        INTEGER NOT NULL,
    customer_id    INTEGER NOT NULL,
    user_role      VARCHAR NOT NULL,               -- admin | member | viewer
    created_at     DATE NOT NULL,
    deactivated_at DATE                            -- NULL while active
);

CREATE TABLE staging.stg_crm__locations (
    location_id   INTEGER NOT NULL,
    customer_id   INTEGER NOT NULL,
    location_name VARCHAR NOT NULL,
    city          VARCHAR NOT NULL,
    country       VARCHAR NOT NULL,
    region        VARCHAR NOT NULL,                -- NA | EMEA | APAC | LATAM
    opened_at     DATE NOT NULL
);

-- billing: subscriptions and their seat counts ---------------------------------------------
CREATE TABLE staging.stg_billing__subscriptions (
    subscription_id INTEGER NOT NULL,
    customer_id     INTEGER NOT NULL,
    product_line    VARCHAR NOT NULL,              -- core | analytics | automation | security
    started_at      DATE NOT NULL,
    cancelled_at    DATE,                          -- active on [started_at, cancelled_at)
    unit_price      DECIMAL(10, 2) NOT NULL        -- per seat per month
);

CREATE TABLE staging.stg_billing__seat_changes (   -- the seat count in effect from changed_at
    subscription_id INTEGER NOT NULL,
    changed_at      DATE NOT NULL,
    quantity        INTEGER NOT NULL
);

-- devices and their hourly telemetry --------------------------------------------------------
CREATE TABLE staging.stg_devices__devices (
    device_id    INTEGER NOT NULL,
    location_id  INTEGER NOT NULL,
    customer_id  INTEGER NOT NULL,
    device_type  VARCHAR NOT NULL,                 -- kiosk | tablet | sensor | pos
    os           VARCHAR NOT NULL,
    installed_at DATE NOT NULL,
    retired_at   DATE                              -- NULL while in service
);

CREATE TABLE staging.stg_devices__telemetry (      -- one row per device per hour it reported
    hour           TIMESTAMP NOT NULL,
    device_id      INTEGER NOT NULL,
    events         INTEGER NOT NULL,
    errors         INTEGER NOT NULL,
    uptime_seconds INTEGER NOT NULL,
    is_online      BOOLEAN NOT NULL
);

-- entity tables (tables first: DuckDB creates no index after an UPDATE in the same transaction)
CREATE TABLE entity.entity_subscription_seats_history (   -- SCD type 2 of a subscription's seats
    subscription_id INTEGER NOT NULL,
    valid_from      DATE NOT NULL,
    valid_to        DATE,                          -- exclusive; NULL for the current row
    quantity        INTEGER NOT NULL,
    is_current      BOOLEAN NOT NULL
);

CREATE TABLE entity.entity_user_engagement_daily ( -- one row per user per day with activity
    activity_date DATE NOT NULL,
    user_id       BIGINT NOT NULL,
    sessions      INTEGER NOT NULL,
    total_actions INTEGER NOT NULL,
    last_activity TIMESTAMP NOT NULL
);

-- app events: when each row arrived in the warehouse (late rows are what a lookback is for).
-- The table is made again with the column (DuckDB cannot add a NOT NULL column filled row by
-- row); rows loaded before it existed count as arrived when they happened.
CREATE TABLE staging.stg_app__user_activities_loaded (
    user_id            BIGINT NOT NULL,
    session_id         BIGINT NOT NULL,
    activity_timestamp TIMESTAMP NOT NULL,
    actions_taken      INTEGER NOT NULL,
    feature            VARCHAR NOT NULL,
    loaded_at          TIMESTAMP NOT NULL
);
INSERT INTO staging.stg_app__user_activities_loaded
SELECT user_id, session_id, activity_timestamp, actions_taken, feature, activity_timestamp
FROM staging.stg_app__user_activities
ORDER BY activity_timestamp;
DROP TABLE staging.stg_app__user_activities;
ALTER TABLE staging.stg_app__user_activities_loaded RENAME TO stg_app__user_activities;

-- active_users / team_size (0 for an empty team), and a 0-100 health blend:
-- round(100 * (0.4 * active_user_percentage + 0.3 * feature_adoption_score + 0.3 * collaboration_index), 1)
ALTER TABLE entity.entity_teams_daily ADD COLUMN active_user_percentage DOUBLE NOT NULL DEFAULT 0;
ALTER TABLE entity.entity_teams_daily ADD COLUMN team_health_score DOUBLE NOT NULL DEFAULT 0;

-- Fill them for rows built before this migration (a build computes the same values).
UPDATE entity.entity_teams_daily
SET active_user_percentage = CASE WHEN team_size = 0 THEN 0.0 ELSE active_users / team_size END;
UPDATE entity.entity_teams_daily
SET team_health_score = round(100 * (0.4 * active_user_percentage + 0.3 * feature_adoption_score
                                     + 0.3 * collaboration_index), 1);
