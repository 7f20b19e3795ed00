-- Organisations' webhook subscriptions, the outbox of deliveries written in the same transaction
-- as the change that causes them, and each delivery's attempts.

CREATE TABLE webhooks (
    id                         uuid PRIMARY KEY,
    organisation_id            uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    url                        text NOT NULL,
    description                text NOT NULL DEFAULT '',
    event_types                jsonb NOT NULL,
    status                     text NOT NULL,
    failing_since              timestamptz,
    secret                     text NOT NULL,
    previous_secret            text,
    previous_secret_expires_at timestamptz,
    version                    integer NOT NULL DEFAULT 1,
    created_at                 timestamptz NOT NULL,
    updated_at                 timestamptz NOT NULL
);
CREATE INDEX webhooks_organisation ON webhooks (organisation_id, id);

CREATE TABLE webhook_deliveries (
    id              uuid PRIMARY KEY,
    webhook_id      uuid NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_type      text NOT NULL,
    payload         jsonb NOT NULL,
    status          text NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    retry_from      timestamptz NOT NULL,
    locked_until    timestamptz,
    lock_token      uuid,
    created_at      timestamptz NOT NULL,
    delivered_at    timestamptz
);
-- The worker's claim: pending deliveries by due time.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id);

CREATE TABLE webhook_attempts (
    id               uuid PRIMARY KEY,
    delivery_id      uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempted_at     timestamptz NOT NULL,
    duration_ms      integer NOT NULL,
    status_code      integer,
    error            text,
    response_excerpt text
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);

-- Which expiry notice a grant has had: `pending`, `expiring` (grant.expiring sent) or `closed`
-- (grant.expired sent, or revoked). The sweep reads only grants still owed a notice.
ALTER TABLE grants ADD COLUMN expiry_notice text NOT NULL DEFAULT 'pending';
UPDATE grants SET expiry_notice = 'closed' WHERE revoked_at IS NOT NULL OR expires_at <= now();
CREATE INDEX grants_expiry_notice ON grants (expiry_notice, expires_at);
