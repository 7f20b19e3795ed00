-- Consent (grants from a person to an organisation) and the access log the person reads.

CREATE TABLE grants (
    id              TEXT PRIMARY KEY,
    person_id       TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    organisation_id TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    permission      TEXT NOT NULL,
    scope           TEXT NOT NULL,
    purpose         TEXT NOT NULL,
    version         INTEGER NOT NULL DEFAULT 1,
    created_at      TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    revoked_at      TEXT
);
-- The owner's list, and the check made on every organisation request.
CREATE INDEX grants_person ON grants (person_id, organisation_id);
-- The organisation's list of grants made to it, newest first.
CREATE INDEX grants_organisation ON grants (organisation_id, id);

CREATE TABLE access_events (
    id              TEXT PRIMARY KEY,
    person_id       TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    organisation_id TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    client_id       TEXT NOT NULL,
    grant_id        TEXT,
    action          TEXT NOT NULL,
    resource        TEXT NOT NULL,
    allowed         INTEGER NOT NULL,
    reason          TEXT,
    created_at      TEXT NOT NULL
);
CREATE INDEX access_events_person ON access_events (person_id, id);
