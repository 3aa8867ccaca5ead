-- How far each usage journal file (<database>.usage-journal/*.jsonl) is in meta.usage_events: written in the
-- same transaction as the events, so a journal replayed after a SIGKILL never inserts an event twice.
CREATE TABLE IF NOT EXISTS meta.usage_journal (
    file          VARCHAR PRIMARY KEY,   -- the journal file's name
    applied_bytes BIGINT NOT NULL        -- its first bytes, up to here, are events already inserted
);
