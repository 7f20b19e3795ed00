-- The activity catalogue, and the history of every change to an issued record.

CREATE TABLE activities (
    code             text PRIMARY KEY,
    title            text NOT NULL,
    kind             text NOT NULL,
    level            text,
    refresher_months integer,
    publisher        text NOT NULL,
    source           text,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);

-- One row per earlier version of a record: what it said before a change, who changed it, why.
CREATE TABLE record_history (
    id         uuid PRIMARY KEY,
    record_id  uuid NOT NULL REFERENCES records (id) ON DELETE CASCADE,
    version    integer NOT NULL,
    content    jsonb NOT NULL,
    change     text NOT NULL,
    changed_by uuid REFERENCES organisations (id) ON DELETE SET NULL,
    changed_at timestamptz NOT NULL
);
CREATE INDEX record_history_record ON record_history (record_id, version);
