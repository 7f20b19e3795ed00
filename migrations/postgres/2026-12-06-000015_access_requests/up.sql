-- Access requests: an organisation asks a person for a grant; the person approves (which makes
-- the grant) or declines. The addressee is kept as the organisation gave it, in one normalised
-- key ('passport:<id>', 'email:<lowercase address>' or 'registration:<BODY>:<NUMBER>'), so that
-- a person who signs up or verifies their email later still finds what was asked of them.
CREATE TABLE access_requests (
    id                     uuid PRIMARY KEY,
    organisation_id        uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    client_id              TEXT NOT NULL,
    addressee              TEXT NOT NULL,
    -- The person the addressee named when the request was made, or who answered it.
    person_id              uuid REFERENCES people (id) ON DELETE SET NULL,
    permission             TEXT NOT NULL,
    scope                  jsonb NOT NULL,
    requirement_profile_id uuid REFERENCES requirement_profiles (id) ON DELETE SET NULL,
    purpose                TEXT NOT NULL,
    message                TEXT,
    duration_days          integer NOT NULL,
    -- pending, approved, declined or cancelled; a pending request past expires_at is expired.
    status                 TEXT NOT NULL,
    created_at             timestamptz NOT NULL,
    expires_at             timestamptz NOT NULL,
    answered_at            timestamptz,
    grant_id               uuid REFERENCES grants (id) ON DELETE SET NULL,
    -- Whether access_request.expired has been recorded for it.
    expiry_told            boolean NOT NULL DEFAULT false
);
-- The organisation's list, newest first, and its count of requests made today.
CREATE INDEX access_requests_organisation ON access_requests (organisation_id, id);
-- The person's list, newest first.
CREATE INDEX access_requests_person ON access_requests (person_id, id);
-- Requests to an addressee: the cap on pending ones, and those a person finds by their email or
-- registration.
CREATE INDEX access_requests_addressee ON access_requests (addressee, status);
-- The expiry sweep.
CREATE INDEX access_requests_expiry ON access_requests (status, expires_at);

-- Organisations a person does not want requests from.
CREATE TABLE blocked_organisations (
    person_id       uuid NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    organisation_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (person_id, organisation_id)
);

-- A request's addressee is found by the vouched-for email, without regard to case.
CREATE INDEX people_email_lower ON people (lower(email));
