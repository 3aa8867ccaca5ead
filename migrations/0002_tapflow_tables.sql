-- The TapFlow warehouse: raw staging data, entity tables at their grains, the legacy table.
-- `tapflow seed` fills them; definitions are validated against these columns.

CREATE TABLE entity.entity_customers (
    customer_id               INTEGER PRIMARY KEY,
    customer_name             VARCHAR NOT NULL,
    signup_date               DATE NOT NULL,
    churn_date                DATE,
    customer_status           VARCHAR NOT NULL,   -- trialing | active | inactive | churned
    customer_tier             VARCHAR NOT NULL,   -- free | starter | growth | enterprise
    customer_segment          VARCHAR NOT NULL,   -- SMB | Mid-Market | Enterprise
    sales_region              VARCHAR NOT NULL,   -- NA | EMEA | APAC | LATAM
    country                   VARCHAR NOT NULL,
    seats                     INTEGER NOT NULL,
    monthly_recurring_revenue DECIMAL(14, 2) NOT NULL,
    annual_recurring_revenue  DECIMAL(16, 2) NOT NULL
);

CREATE TABLE entity.entity_customers_history (   -- SCD type 2
    customer_id      INTEGER NOT NULL,
    valid_from       DATE NOT NULL,
    valid_to         DATE,                         -- exclusive; NULL for the current row
    customer_tier    VARCHAR NOT NULL,
    customer_segment VARCHAR NOT NULL,
    sales_region     VARCHAR NOT NULL,
    is_current       BOOLEAN NOT NULL,
    PRIMARY KEY (customer_id, valid_from)
);

CREATE TABLE entity.entity_customers_daily (
    snapshot_date             DATE NOT NULL,
    customer_id               INTEGER NOT NULL,
    customer_status           VARCHAR NOT NULL,
    customer_tier             VARCHAR NOT NULL,
    customer_segment          VARCHAR NOT NULL,
    sales_region              VARCHAR NOT NULL,
    active_subscriptions      INTEGER NOT NULL,
    monthly_recurring_revenue DECIMAL(14, 2) NOT NULL,
    annual_recurring_revenue  DECIMAL(16, 2) NOT NULL
);

CREATE TABLE entity.entity_subscriptions (
    subscription_id           INTEGER PRIMARY KEY,
    customer_id               INTEGER NOT NULL,
    product_line              VARCHAR NOT NULL,   -- core | analytics | automation | security
    subscription_status       VARCHAR NOT NULL,   -- active | cancelled
    started_at                DATE NOT NULL,
    cancelled_at              DATE,
    quantity                  INTEGER NOT NULL,
    unit_price                DECIMAL(10, 2) NOT NULL,
    monthly_recurring_revenue DECIMAL(14, 2) NOT NULL
);

CREATE TABLE entity.entity_subscriptions_monthly (
    month_start         DATE NOT NULL,
    subscription_id     INTEGER NOT NULL,
    customer_id         INTEGER NOT NULL,
    product_line        VARCHAR NOT NULL,
    subscription_status VARCHAR NOT NULL,          -- active | cancelled (at the month's end)
    quantity            INTEGER NOT NULL,
    unit_price          DECIMAL(10, 2) NOT NULL,
    mrr                 DECIMAL(14, 2) NOT NULL,   -- quantity * unit_price while active
    new_mrr             DECIMAL(14, 2) NOT NULL,
    expansion_mrr       DECIMAL(14, 2) NOT NULL,
    contraction_mrr     DECIMAL(14, 2) NOT NULL,
    churned_mrr         DECIMAL(14, 2) NOT NULL,
    PRIMARY KEY (subscription_id, month_start)
);

CREATE TABLE entity.entity_teams (
    team_id     INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL,
    team_name   VARCHAR NOT NULL,
    team_type   VARCHAR NOT NULL,
    created_at  DATE NOT NULL,
    team_size   INTEGER NOT NULL,
    is_active   BOOLEAN NOT NULL
);

CREATE TABLE entity.entity_teams_history (     -- SCD type 2
    team_id           INTEGER NOT NULL,
    customer_id       INTEGER NOT NULL,
    team_name         VARCHAR NOT NULL,
    team_type         VARCHAR NOT NULL,
    team_lead_user_id BIGINT,
    valid_from        DATE NOT NULL,
    valid_to          DATE,
    is_current        BOOLEAN NOT NULL,
    PRIMARY KEY (team_id, valid_from)
);

CREATE TABLE entity.entity_teams_daily (
    snapshot_date          DATE NOT NULL,
    team_id                INTEGER NOT NULL,
    customer_id            INTEGER NOT NULL,
    team_size              INTEGER NOT NULL,
    active_users           INTEGER NOT NULL,
    sessions               INTEGER NOT NULL,
    actions                INTEGER NOT NULL,
    features_used          INTEGER NOT NULL,
    feature_adoption_score DOUBLE NOT NULL,       -- features_used / 6 product features
    collaboration_index    DOUBLE NOT NULL        -- (active_users - 1) / (team_size - 1), 0 if < 2 active
);

CREATE TABLE entity.entity_users (
    user_id        BIGINT PRIMARY KEY,
    team_id        INTEGER NOT NULL,
    customer_id    INTEGER NOT NULL,
    user_role      VARCHAR NOT NULL,              -- admin | member | viewer
    created_at     DATE NOT NULL,
    deactivated_at DATE,
    is_active      BOOLEAN NOT NULL
);

CREATE TABLE staging.stg_app__user_activities (
    user_id            BIGINT NOT NULL,
    session_id         BIGINT NOT NULL,
    activity_timestamp TIMESTAMP NOT NULL,
    actions_taken      INTEGER NOT NULL,
    feature            VARCHAR NOT NULL
);

CREATE TABLE entity.entity_locations (
    location_id   INTEGER PRIMARY KEY,
    customer_id   INTEGER NOT NULL,
    location_name VARCHAR NOT NULL,
    city          VARCHAR NOT NULL,
    country       VARCHAR NOT NULL,
    sales_region  VARCHAR NOT NULL,
    opened_at     DATE NOT NULL
);

CREATE TABLE entity.entity_devices (
    device_id     INTEGER PRIMARY KEY,
    location_id   INTEGER NOT NULL,
    customer_id   INTEGER NOT NULL,
    device_type   VARCHAR NOT NULL,               -- kiosk | tablet | sensor | pos
    os            VARCHAR NOT NULL,
    installed_at  DATE NOT NULL,
    device_status VARCHAR NOT NULL                -- active | retired
);

CREATE TABLE entity.entity_devices_hourly (
    grain_timestamp TIMESTAMP NOT NULL,
    device_id       INTEGER NOT NULL,
    location_id     INTEGER NOT NULL,
    is_online       BOOLEAN NOT NULL,
    event_count     INTEGER NOT NULL,
    error_count     INTEGER NOT NULL,
    uptime_seconds  INTEGER NOT NULL
);

CREATE TABLE legacy.customer_facts (             -- retired by entity_customers
    as_of_month      DATE NOT NULL,
    customer_id      INTEGER NOT NULL,
    customer_name    VARCHAR NOT NULL,
    tier             VARCHAR NOT NULL,
    segment          VARCHAR NOT NULL,
    region           VARCHAR NOT NULL,
    is_active        BOOLEAN NOT NULL,
    seats            INTEGER NOT NULL,
    mrr              DECIMAL(14, 2) NOT NULL,
    arr              DECIMAL(16, 2) NOT NULL,
    lifetime_revenue DECIMAL(16, 2) NOT NULL,
    PRIMARY KEY (customer_id, as_of_month)
);

CREATE TABLE meta.seed_runs (
    seeded_at  TIMESTAMP NOT NULL,
    scale      DOUBLE NOT NULL,
    customers  INTEGER NOT NULL,
    total_rows BIGINT NOT NULL,
    elapsed_s  DOUBLE NOT NULL
);
