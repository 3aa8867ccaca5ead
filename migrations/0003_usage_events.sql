-- Usage events: one row per request that touched a metric or an entity (DESIGN 7).
CREATE TABLE meta.usage_events (
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
