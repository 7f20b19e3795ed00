-- Trust at the edges: what erasure, quotas and bounded queues need.

-- A webhook delivery names the person it is about, so that erasure finds it.
ALTER TABLE webhook_deliveries ADD COLUMN person_id uuid;
UPDATE webhook_deliveries SET person_id = (payload -> 'data' ->> 'person_id')::uuid
    WHERE payload -> 'data' ? 'person_id';
CREATE INDEX webhook_deliveries_person ON webhook_deliveries (person_id) WHERE person_id IS NOT NULL;
-- Pending deliveries per subscription are capped; this counts them without reading the log.
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (webhook_id) WHERE status = 'pending';
-- Events not queued because the subscription's backlog was full, since its last delivery.
ALTER TABLE webhooks ADD COLUMN events_dropped integer NOT NULL DEFAULT 0;

-- Credentials: a new status list is opened when one fills.
ALTER TABLE credentials ADD COLUMN status_list integer NOT NULL DEFAULT 1;
ALTER TABLE credentials DROP CONSTRAINT credentials_status_index;
ALTER TABLE credentials ADD CONSTRAINT credentials_status_slot UNIQUE (status_list, status_index);

-- What each organisation stores in the LRS, kept up to date in the transactions that change it,
-- so that quotas cost one row read.
CREATE TABLE xapi_usage (
    organisation_id  uuid PRIMARY KEY REFERENCES organisations (id) ON DELETE CASCADE,
    statements       bigint NOT NULL DEFAULT 0,
    documents        bigint NOT NULL DEFAULT 0,
    attachment_bytes bigint NOT NULL DEFAULT 0
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
CREATE INDEX access_events_refused ON access_events (person_id, organisation_id, id) WHERE NOT allowed;
