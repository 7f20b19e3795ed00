-- People, organisations with their API clients, and each person's training records.

CREATE TABLE people (
    id                  TEXT PRIMARY KEY,
    issuer              TEXT NOT NULL,
    subject             TEXT NOT NULL,
    display_name        TEXT,
    email               TEXT,
    registration_body   TEXT,
    registration_number TEXT,
    version             INTEGER NOT NULL DEFAULT 1,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    CONSTRAINT people_identity UNIQUE (issuer, subject)
);

CREATE TABLE organisations (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    ods_code   TEXT,
    created_at TEXT NOT NULL,
    CONSTRAINT organisations_ods_code UNIQUE (ods_code)
);
CREATE INDEX organisations_name ON organisations (name COLLATE NOCASE);

CREATE TABLE clients (
    id              TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    client_id       TEXT NOT NULL,
    secret_hash     TEXT NOT NULL,
    scopes          TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    revoked_at      TEXT,
    CONSTRAINT clients_client_id UNIQUE (client_id)
);
CREATE INDEX clients_organisation ON clients (organisation_id);

CREATE TABLE records (
    id                     TEXT PRIMARY KEY,
    person_id              TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    kind                   TEXT NOT NULL,
    title                  TEXT NOT NULL,
    activity_code          TEXT,
    provider_name          TEXT,
    started_at             TEXT,
    completed_at           TEXT,
    expires_at             TEXT,
    result                 TEXT,
    score                  REAL,
    hours                  REAL,
    evidence               TEXT NOT NULL,
    notes                  TEXT,
    hidden                 INTEGER NOT NULL DEFAULT 0,
    provenance             TEXT NOT NULL,
    issuer_organisation_id TEXT REFERENCES organisations (id),
    external_id            TEXT,
    voided_at              TEXT,
    void_reason            TEXT,
    version                INTEGER NOT NULL DEFAULT 1,
    created_at             TEXT NOT NULL,
    updated_at             TEXT NOT NULL
);
-- The owner's list and every shared view walk one person's records newest first.
CREATE INDEX records_person ON records (person_id, id);
-- A platform's own id is unique per platform: this is what makes pushes idempotent.
CREATE UNIQUE INDEX records_issuer_external_id ON records (issuer_organisation_id, external_id)
    WHERE external_id IS NOT NULL;
