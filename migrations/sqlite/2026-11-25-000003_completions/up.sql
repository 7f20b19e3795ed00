-- The activity catalogue, and the history of every change to an issued record.

CREATE TABLE activities (
    code             TEXT PRIMARY KEY,
    title            TEXT NOT NULL,
    kind             TEXT NOT NULL,
    level            TEXT,
    refresher_months INTEGER,
    publisher        TEXT NOT NULL,
    source           TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);

-- One row per earlier version of a record: what it said before a change, who changed it, why.
CREATE TABLE record_history (
    id         TEXT PRIMARY KEY,
    record_id  TEXT NOT NULL REFERENCES records (id) ON DELETE CASCADE,
    version    INTEGER NOT NULL,
    content    TEXT NOT NULL,
    change     TEXT NOT NULL,
    changed_by TEXT REFERENCES organisations (id) ON DELETE SET NULL,
    changed_at TEXT NOT NULL
);
CREATE INDEX record_history_record ON record_history (record_id, version);
