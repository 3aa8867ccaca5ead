-- Entity builds (DESIGN 10, 11): one row per build run, one per batch, test results and late rows.

-- A run: what was asked (tables, range, full refresh) and how it ended. A run left 'running' by a killed
-- process is resumed by the next run of the same request (its finished batches are skipped).
CREATE TABLE IF NOT EXISTS meta.builds (
    run_id       VARCHAR PRIMARY KEY,
    request      JSON NOT NULL,            -- {"tables": [...], "start": ..., "end": ..., "full_refresh": ...}
    request_hash VARCHAR NOT NULL,
    origin       VARCHAR NOT NULL,         -- cli | api | schedule
    status       VARCHAR NOT NULL,         -- running | success | failed | interrupted
    started_at   TIMESTAMP NOT NULL,
    finished_at  TIMESTAMP,
    error        VARCHAR
);

-- A batch: one time range of one table, written in one transaction with the rows it built.
CREATE TABLE IF NOT EXISTS meta.build_runs (
    run_id      VARCHAR NOT NULL,
    table_name  VARCHAR NOT NULL,
    seq         INTEGER NOT NULL,          -- the batch's place in the run
    batch_start TIMESTAMP NOT NULL,
    batch_end   TIMESTAMP NOT NULL,
    status      VARCHAR NOT NULL,          -- pending | success | failed | skipped (done by an earlier attempt)
    rows_in     BIGINT,                    -- rows the batch replaced (deleted; for a merge, closed)
    rows_out    BIGINT,                    -- rows it wrote
    seconds     DOUBLE,
    started_at  TIMESTAMP,
    finished_at TIMESTAMP,
    error       VARCHAR,
    PRIMARY KEY (run_id, seq)
);

-- Every data test run, after a build or on `tapflow test`; failures keep a sample of offending keys.
CREATE TABLE IF NOT EXISTS meta.test_results (
    run_id     VARCHAR NOT NULL,
    checked_at TIMESTAMP NOT NULL,
    table_name VARCHAR NOT NULL,
    test       VARCHAR NOT NULL,           -- e.g. unique(team_id)
    status     VARCHAR NOT NULL,           -- pass | fail | error
    failing    BIGINT NOT NULL,
    sample     JSON,                       -- up to 5 offending rows' keys
    detail     VARCHAR
);

-- Rows that arrived after an incremental build's lookback had passed their period: counted per run.
CREATE TABLE IF NOT EXISTS meta.late_rows (
    run_id      VARCHAR NOT NULL,
    table_name  VARCHAR NOT NULL,
    source      VARCHAR NOT NULL,
    late_count  BIGINT NOT NULL,
    first_time  TIMESTAMP NOT NULL,        -- the earliest and latest event time among them
    last_time   TIMESTAMP NOT NULL,
    detected_at TIMESTAMP NOT NULL
);
