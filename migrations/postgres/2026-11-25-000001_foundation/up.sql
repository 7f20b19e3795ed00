-- People, organisations with their API clients, and each person's training records.

CREATE TABLE people (
    id                  uuid PRIMARY KEY,
    issuer              text NOT NULL,
    subject             text NOT NULL,
    display_name        text,
    email               text,
    registration_body   text,
    registration_number text,
    version             integer NOT NULL DEFAULT 1,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    CONSTRAINT people_identity UNIQUE (issuer, subject)
);

CREATE TABLE organisations (
    id         uuid PRIMARY KEY,
    name       text NOT NULL,
    ods_code   text,
    created_at timestamptz NOT NULL,
    CONSTRAINT organisations_ods_code UNIQUE (ods_code)
);
CREATE INDEX organisations_name ON organisations (lower(name));

CREATE TABLE clients (
    id              uuid PRIMARY KEY,
    organisation_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    client_id       text NOT NULL,
    secret_hash     text NOT NULL,
    scopes          text NOT NULL,
    created_at      timestamptz NOT NULL,
    revoked_at      timestamptz,
    CONSTRAINT clients_client_id UNIQUE (client_id)
);
CREATE INDEX clients_organisation ON clients (organisation_id);

CREATE TABLE records (
    id                     uuid PRIMARY KEY,
    person_id              uuid NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    kind                   text NOT NULL,
    title                  text NOT NULL,
    activity_code          text,
    provider_name          text,
    started_at             timestamptz,
    completed_at           timestamptz,
    expires_at             timestamptz,
    result                 text,
    score                  double precision,
    hours                  double precision,
    evidence               jsonb NOT NULL,
    notes                  text,
    hidden                 boolean NOT NULL DEFAULT false,
    provenance             text NOT NULL,
    issuer_organisation_id uuid REFERENCES organisations (id),
    external_id            text,
    voided_at              timestamptz,
    void_reason            text,
    version                integer NOT NULL DEFAULT 1,
    created_at             timestamptz NOT NULL,
    updated_at             timestamptz NOT NULL
);
-- The owner's list and every shared view walk one person's records newest first.
CREATE INDEX records_person ON records (person_id, id);
-- A platform's own id is unique per platform: this is what makes pushes idempotent.
CREATE UNIQUE INDEX records_issuer_external_id ON records (issuer_organisation_id, external_id)
    WHERE external_id IS NOT NULL;
