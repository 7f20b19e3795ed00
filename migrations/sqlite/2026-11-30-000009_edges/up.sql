-- Trust at the edges: what erasure, quotas and bounded queues need.

-- A webhook delivery names the person it is about, so that erasure finds it.
ALTER TABLE webhook_deliveries ADD COLUMN person_id TEXT;
UPDATE webhook_deliveries SET person_id = json_extract(payload, '$.data.person_id')
    WHERE json_extract(payload, '$.data.person_id') IS NOT NULL;
CREATE INDEX webhook_deliveries_person ON webhook_deliveries (person_id) WHERE person_id IS NOT NULL;
-- Pending deliveries per subscription are capped; this counts them without reading the log.
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (webhook_id) WHERE status = 'pending';
-- Events not queued because the subscription's backlog was full, since its last delivery.
ALTER TABLE webhooks ADD COLUMN events_dropped INTEGER NOT NULL DEFAULT 0;

-- Credentials: a new status list is opened when one fills. SQLite cannot change a table's
-- constraints: the table is rebuilt (nothing refers to it).
CREATE TABLE credentials_new (
    id           TEXT PRIMARY KEY,
    person_id    TEXT REFERENCES people (id) ON DELETE SET NULL,
    status_list  INTEGER NOT NULL DEFAULT 1,
    status_index INTEGER NOT NULL,
    summary      TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    revoked_at   TEXT,
    CONSTRAINT credentials_status_slot UNIQUE (status_list, status_index)
);
INSERT INTO credentials_new (id, person_id, status_list, status_index, summary, created_at, expires_at, revoked_at)
    SELECT id, person_id, 1, status_index, summary, created_at, expires_at, revoked_at FROM credentials;
DROP TABLE credentials;
ALTER TABLE credentials_new RENAME TO credentials;
CREATE INDEX credentials_person ON credentials (person_id, id);

-- What each organisation stores in the LRS, kept up to date in the transactions that change it,
-- so that quotas cost one row read.
CREATE TABLE xapi_usage (
    organisation_id  TEXT PRIMARY KEY REFERENCES organisations (id) ON DELETE CASCADE,
    statements       BIGINT NOT NULL DEFAULT 0,
    documents        BIGINT NOT NULL DEFAULT 0,
    attachment_bytes BIGINT NOT NULL DEFAULT 0
);
INSERT INTO xapi_usage (organisation_id, statements, documents, attachment_bytes)
SELECT o.id,
       (SELECT count(*) FROM xapi_statements s WHERE s.organisation_id = o.id),
       (SELECT count(*) FROM xapi_documents d WHERE d.organisation_id = o.id),
       (SELECT coalesce(sum(length(a.content)), 0) FROM xapi_attachments a WHERE a.organisation_id = o.id)
FROM organisations o;

-- Erasure finds a person's statements and documents in every organisation's LRS.
CREATE INDEX xapi_statement_index_agent ON xapi_statement_index (value) WHERE kind = 'agent';
CREATE INDEX xapi_documents_agent ON xapi_documents (agent) WHERE agent <> '';

-- Refused accesses an organisation may add to a person's log are counted per organisation.
CREATE INDEX access_events_refused ON access_events (person_id, organisation_id, id) WHERE allowed = 0;
