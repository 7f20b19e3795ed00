-- Organisations' webhook subscriptions, the outbox of deliveries written in the same transaction
-- as the change that causes them, and each delivery's attempts.

CREATE TABLE webhooks (
    id                         TEXT PRIMARY KEY,
    organisation_id            TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    url                        TEXT NOT NULL,
    description                TEXT NOT NULL DEFAULT '',
    event_types                TEXT NOT NULL,
    status                     TEXT NOT NULL,
    failing_since              TEXT,
    secret                     TEXT NOT NULL,
    previous_secret            TEXT,
    previous_secret_expires_at TEXT,
    version                    INTEGER NOT NULL DEFAULT 1,
    created_at                 TEXT NOT NULL,
    updated_at                 TEXT NOT NULL
);
CREATE INDEX webhooks_organisation ON webhooks (organisation_id, id);

CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    webhook_id      TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_type      TEXT NOT NULL,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    retry_from      TEXT NOT NULL,
    locked_until    TEXT,
    lock_token      TEXT,
    created_at      TEXT NOT NULL,
    delivered_at    TEXT
);
-- The worker's claim: pending deliveries by due time.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id);

CREATE TABLE webhook_attempts (
    id               TEXT PRIMARY KEY,
    delivery_id      TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempted_at     TEXT NOT NULL,
    duration_ms      INTEGER NOT NULL,
    status_code      INTEGER,
    error            TEXT,
    response_excerpt TEXT
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);

-- Which expiry notice a grant has had: `pending`, `expiring` (grant.expiring sent) or `closed`
-- (grant.expired sent, or revoked). The sweep reads only grants still owed a notice.
ALTER TABLE grants ADD COLUMN expiry_notice TEXT NOT NULL DEFAULT 'pending';
UPDATE grants SET expiry_notice = 'closed'
 WHERE revoked_at IS NOT NULL OR expires_at <= strftime('%Y-%m-%dT%H:%M:%fZ', 'now');
CREATE INDEX grants_expiry_notice ON grants (expiry_notice, expires_at);
