-- A counter of data changes (migrations, seeds, builds, backfills): cached results are keyed by it.
CREATE TABLE meta.data_versions (
    version    BIGINT PRIMARY KEY,
    changed_at TIMESTAMP NOT NULL DEFAULT now(),
    reason     VARCHAR NOT NULL
);
INSERT INTO meta.data_versions (version, reason) VALUES (1, 'migration 0006_data_versions');
