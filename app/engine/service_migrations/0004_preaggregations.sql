-- Pre-aggregations (DESIGN 13).

-- Whether a batch changed its table's rows: a whole-table rebuild that wrote back the same rows (a dimension
-- table rebuilt each run) changes nothing a rollup or a cached answer holds.
ALTER TABLE meta.build_runs ADD COLUMN IF NOT EXISTS changed BOOLEAN;

-- The query string of a GET request: the most asked-for answers are computed again after a build (warming).
ALTER TABLE meta.usage_events ADD COLUMN IF NOT EXISTS query VARCHAR;
