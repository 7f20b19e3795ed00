-- Verifiable credentials a person has taken of their passport, and erasure that keeps the audit:
-- access events outlive the person (without them), so that their count and organisations remain.

CREATE TABLE credentials (
    id           TEXT PRIMARY KEY,
    person_id    TEXT REFERENCES people (id) ON DELETE SET NULL,
    status_index INTEGER NOT NULL,
    summary      TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    revoked_at   TEXT,
    CONSTRAINT credentials_status_index UNIQUE (status_index)
);
CREATE INDEX credentials_person ON credentials (person_id, id);

-- SQLite cannot change a column's constraints: the table is rebuilt.
CREATE TABLE access_events_new (
    id              TEXT PRIMARY KEY,
    person_id       TEXT REFERENCES people (id) ON DELETE SET NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    client_id       TEXT NOT NULL,
    grant_id        TEXT,
    action          TEXT NOT NULL,
    resource        TEXT NOT NULL,
    allowed         INTEGER NOT NULL,
    reason          TEXT,
    created_at      TEXT NOT NULL
);
INSERT INTO access_events_new SELECT id, person_id, organisation_id, client_id, grant_id, action, resource, allowed, reason, created_at FROM access_events;
DROP TABLE access_events;
ALTER TABLE access_events_new RENAME TO access_events;
CREATE INDEX access_events_person ON access_events (person_id, id);
