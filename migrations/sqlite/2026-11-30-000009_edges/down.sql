DROP INDEX access_events_refused;
DROP INDEX xapi_documents_agent;
DROP INDEX xapi_statement_index_agent;
DROP TABLE xapi_usage;
CREATE TABLE credentials_old (
    id           TEXT PRIMARY KEY,
    person_id    TEXT REFERENCES people (id) ON DELETE SET NULL,
    status_index INTEGER NOT NULL,
    summary      TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    revoked_at   TEXT,
    CONSTRAINT credentials_status_index UNIQUE (status_index)
);
INSERT INTO credentials_old SELECT id, person_id, status_index, summary, created_at, expires_at, revoked_at FROM credentials;
DROP TABLE credentials;
ALTER TABLE credentials_old RENAME TO credentials;
CREATE INDEX credentials_person ON credentials (person_id, id);
ALTER TABLE webhooks DROP COLUMN events_dropped;
DROP INDEX webhook_deliveries_pending;
DROP INDEX webhook_deliveries_person;
ALTER TABLE webhook_deliveries DROP COLUMN person_id;
