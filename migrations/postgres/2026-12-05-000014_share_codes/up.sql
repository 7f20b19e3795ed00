-- Share codes: a person's offer of a grant, redeemed once by whichever organisation is handed
-- the code. Only the code's SHA-256 is kept; the code itself is shown once, when it is made.
CREATE TABLE share_codes (
    id               uuid PRIMARY KEY,
    person_id        uuid NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    code_hash        text NOT NULL,
    permission       text NOT NULL,
    scope            jsonb NOT NULL,
    purpose          text NOT NULL,
    grant_expires_at timestamptz NOT NULL,
    created_at       timestamptz NOT NULL,
    expires_at       timestamptz NOT NULL,
    revoked_at       timestamptz,
    redeemed_at      timestamptz,
    organisation_id  uuid REFERENCES organisations (id) ON DELETE SET NULL,
    client_id        text,
    grant_id         uuid REFERENCES grants (id) ON DELETE SET NULL
);
-- Redemption finds a code by its hash; two codes never share one.
CREATE UNIQUE INDEX share_codes_code_hash ON share_codes (code_hash);
-- The owner's list, newest first, and the count of their active codes.
CREATE INDEX share_codes_person ON share_codes (person_id, id);
