-- Every (metric, version, definition hash) the service has served, with first and last
-- deployment, so a definition changed in place (same version, new hash) is detected.
CREATE TABLE meta.metric_versions (
    metric          VARCHAR NOT NULL,
    version         INTEGER NOT NULL,
    definition_hash VARCHAR NOT NULL,
    definition      JSON NOT NULL,         -- the normalized fingerprint the hash is taken of
    first_deployed  TIMESTAMP NOT NULL,
    last_deployed   TIMESTAMP NOT NULL,
    PRIMARY KEY (metric, version, definition_hash)
);
