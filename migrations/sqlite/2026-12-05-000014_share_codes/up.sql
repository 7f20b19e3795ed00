-- Share codes: a person's offer of a grant, redeemed once by whichever organisation is handed
-- the code. Only the code's SHA-256 is kept; the code itself is shown once, when it is made.
CREATE TABLE share_codes (
    id               TEXT PRIMARY KEY,
    person_id        TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    code_hash        TEXT NOT NULL,
    permission       TEXT NOT NULL,
    scope            TEXT NOT NULL,
    purpose          TEXT NOT NULL,
    grant_expires_at TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    expires_at       TEXT NOT NULL,
    revoked_at       TEXT,
    redeemed_at      TEXT,
    organisation_id  TEXT REFERENCES organisations (id) ON DELETE SET NULL,
    client_id        TEXT,
    grant_id         TEXT REFERENCES grants (id) ON DELETE SET NULL
);
-- Redemption finds a code by its hash; two codes never share one.
CREATE UNIQUE INDEX share_codes_code_hash ON share_codes (code_hash);
-- The owner's list, newest first, and the count of their active codes.
CREATE INDEX share_codes_person ON share_codes (person_id, id);
