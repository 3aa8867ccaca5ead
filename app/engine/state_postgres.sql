-- The service's shared state on PostgreSQL (TAPFLOW_STATE_DATABASE): what replicas write and read together.
-- The same tables as the DuckDB file's meta schema (service_migrations/0001, 0002), in PostgreSQL's types;
-- idempotent, applied by each replica at start under an advisory lock.
CREATE SCHEMA IF NOT EXISTS meta;

CREATE TABLE IF NOT EXISTS meta.usage_events (
    id           BIGSERIAL PRIMARY KEY,  -- DuckDB's rowid: one request counted once when its metrics are unnested
    event_time   TIMESTAMP NOT NULL,     -- UTC
    consumer     TEXT NOT NULL,
    method       TEXT NOT NULL,
    endpoint     TEXT NOT NULL,
    path         TEXT NOT NULL,
    metrics      TEXT[] NOT NULL,
    versions     INTEGER[] NOT NULL,
    entities     TEXT[] NOT NULL,
    grain        TEXT,
    dimensions   TEXT[] NOT NULL,
    status       INTEGER NOT NULL,
    row_count    INTEGER,
    elapsed_ms   DOUBLE PRECISION NOT NULL,
    deprecated   TEXT[] NOT NULL,
    query        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS usage_events_time ON meta.usage_events (event_time);

CREATE TABLE IF NOT EXISTS meta.metric_versions (
    metric          TEXT NOT NULL,
    version         INTEGER NOT NULL,
    definition_hash TEXT NOT NULL,
    definition      TEXT NOT NULL,       -- JSON text, as DuckDB's JSON column reads
    first_deployed  TIMESTAMP NOT NULL,
    last_deployed   TIMESTAMP NOT NULL,
    PRIMARY KEY (metric, version, definition_hash)
);

-- journal files are named <start>-<pid>: unique per replica's process, marks never collide
CREATE TABLE IF NOT EXISTS meta.usage_journal (
    file          TEXT PRIMARY KEY,
    applied_bytes BIGINT NOT NULL
);
