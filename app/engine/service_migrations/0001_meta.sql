-- The service's own tables, on any database (shipped in the package; a project's migrations/ is optional).
-- IF NOT EXISTS: databases made before these moved here have them from the project's 0003, 0005 and 0006.
CREATE SCHEMA IF NOT EXISTS meta;

-- Usage events: one row per request that touched a metric or an entity (DESIGN 7).
CREATE TABLE IF NOT EXISTS meta.usage_events (
    event_time   TIMESTAMP NOT NULL,     -- UTC
    consumer     VARCHAR NOT NULL,       -- API key name, else X-Consumer, else User-Agent, else anonymous
    method       VARCHAR NOT NULL,
    endpoint     VARCHAR NOT NULL,       -- the route template, e.g. /metrics/{name}
    path         VARCHAR NOT NULL,
    metrics      VARCHAR[] NOT NULL,     -- metric names as requested
    versions     INTEGER[] NOT NULL,     -- the version that answered each metric (NULL when unknown)
    entities     VARCHAR[] NOT NULL,
    grain        VARCHAR,
    dimensions   VARCHAR[] NOT NULL,
    status       INTEGER NOT NULL,
    row_count    INTEGER,
    elapsed_ms   DOUBLE NOT NULL,
    deprecated   VARCHAR[] NOT NULL      -- every deprecated object touched, tables underneath included
);

-- Every (metric, version, definition hash) the service has served, with first and last
-- deployment, so a definition changed in place (same version, new hash) is detected.
CREATE TABLE IF NOT EXISTS meta.metric_versions (
    metric          VARCHAR NOT NULL,
    version         INTEGER NOT NULL,
    definition_hash VARCHAR NOT NULL,
    definition      JSON NOT NULL,         -- the normalized fingerprint the hash is taken of
    first_deployed  TIMESTAMP NOT NULL,
    last_deployed   TIMESTAMP NOT NULL,
    PRIMARY KEY (metric, version, definition_hash)
);

-- A counter of data changes (migrations, seeds, builds, backfills): cached results are keyed by it.
CREATE TABLE IF NOT EXISTS meta.data_versions (
    version    BIGINT PRIMARY KEY,
    changed_at TIMESTAMP NOT NULL DEFAULT now(),
    reason     VARCHAR NOT NULL
);
INSERT INTO meta.data_versions (version, reason)
SELECT 1, 'service migration 0001_meta' WHERE NOT EXISTS (SELECT 1 FROM meta.data_versions);
