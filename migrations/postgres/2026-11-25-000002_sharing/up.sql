-- Consent (grants from a person to an organisation) and the access log the person reads.

CREATE TABLE grants (
    id              uuid PRIMARY KEY,
    person_id       uuid NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    organisation_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    permission      text NOT NULL,
    scope           jsonb NOT NULL,
    purpose         text NOT NULL,
    version         integer NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    revoked_at      timestamptz
);
-- The owner's list, and the check made on every organisation request.
CREATE INDEX grants_person ON grants (person_id, organisation_id);
-- The organisation's list of grants made to it, newest first.
CREATE INDEX grants_organisation ON grants (organisation_id, id);

CREATE TABLE access_events (
    id              uuid PRIMARY KEY,
    person_id       uuid NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    organisation_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    client_id       text NOT NULL,
    grant_id        uuid,
    action          text NOT NULL,
    resource        text NOT NULL,
    allowed         boolean NOT NULL,
    reason          text,
    created_at      timestamptz NOT NULL
);
CREATE INDEX access_events_person ON access_events (person_id, id);
