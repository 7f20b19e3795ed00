-- Verifiable credentials a person has taken of their passport, and erasure that keeps the audit:
-- access events outlive the person (without them), so that their count and organisations remain.

CREATE TABLE credentials (
    id           uuid PRIMARY KEY,
    person_id    uuid REFERENCES people (id) ON DELETE SET NULL,
    status_index integer NOT NULL,
    summary      jsonb NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    CONSTRAINT credentials_status_index UNIQUE (status_index)
);
CREATE INDEX credentials_person ON credentials (person_id, id);

ALTER TABLE access_events ALTER COLUMN person_id DROP NOT NULL;
ALTER TABLE access_events DROP CONSTRAINT access_events_person_id_fkey;
ALTER TABLE access_events ADD CONSTRAINT access_events_person_id_fkey
    FOREIGN KEY (person_id) REFERENCES people (id) ON DELETE SET NULL;
