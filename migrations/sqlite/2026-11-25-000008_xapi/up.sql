-- The xAPI Learning Record Store: each organisation's statements (kept as received, plus what
-- queries filter on), their attachments, the activities they describe, and the State, Activity
-- Profile and Agent Profile documents.

CREATE TABLE xapi_statements (
    organisation_id TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    statement_id    TEXT NOT NULL,
    stored          TEXT NOT NULL,
    voided          BOOLEAN NOT NULL DEFAULT 0,
    -- The statement this one voids, when it is a voiding statement.
    voids           TEXT,
    -- The statement as stored: as received, with the id, stored, timestamp, authority and
    -- version the LRS supplies. Text, not jsonb, so that `format=exact` answers it as sent.
    statement       TEXT NOT NULL,
    has_attachments BOOLEAN NOT NULL,
    PRIMARY KEY (organisation_id, statement_id)
);
-- Queries page by stored time, newest first by default.
CREATE INDEX xapi_statements_stored ON xapi_statements (organisation_id, stored, statement_id);

-- What a query can filter on, one row per value: kind `agent` (an IFI), `activity`, `verb` or
-- `registration`. `related` rows match only `related_agents` / `related_activities`. A statement
-- that targets another (StatementRef) also carries its target's rows, as the filters require.
CREATE TABLE xapi_statement_index (
    organisation_id TEXT NOT NULL,
    statement_id    TEXT NOT NULL,
    kind            TEXT NOT NULL,
    value           TEXT NOT NULL,
    related         BOOLEAN NOT NULL,
    FOREIGN KEY (organisation_id, statement_id)
        REFERENCES xapi_statements (organisation_id, statement_id) ON DELETE CASCADE
);
CREATE INDEX xapi_statement_index_lookup
    ON xapi_statement_index (organisation_id, kind, value, statement_id);
CREATE INDEX xapi_statement_index_statement ON xapi_statement_index (organisation_id, statement_id);

-- Attachment content, once per organisation and SHA-2 however many statements carry it.
CREATE TABLE xapi_attachments (
    organisation_id TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    sha2            TEXT NOT NULL,
    content_type    TEXT NOT NULL,
    content         BLOB NOT NULL,
    PRIMARY KEY (organisation_id, sha2)
);

-- The latest definition each activity was given in a statement (the Activities resource).
CREATE TABLE xapi_activities (
    organisation_id TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    activity_id     TEXT NOT NULL,
    definition      TEXT NOT NULL,
    PRIMARY KEY (organisation_id, activity_id)
);

-- State (kind `state`), Activity Profile (`activity_profile`) and Agent Profile
-- (`agent_profile`) documents. Parts a kind does not use are ''.
CREATE TABLE xapi_documents (
    organisation_id TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,
    activity_id     TEXT NOT NULL,
    agent           TEXT NOT NULL,
    registration    TEXT NOT NULL,
    document_id     TEXT NOT NULL,
    content_type    TEXT NOT NULL,
    content         BLOB NOT NULL,
    etag            TEXT NOT NULL,
    updated         TEXT NOT NULL,
    PRIMARY KEY (organisation_id, kind, activity_id, agent, registration, document_id)
);

-- An email the identity provider vouched for: statements naming it by mbox feed the passport.
ALTER TABLE people ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT 0;
CREATE INDEX people_verified_email ON people (lower(email)) WHERE email_verified = 1;
