-- Employers' requirement profiles for roles.

CREATE TABLE requirement_profiles (
    id              uuid PRIMARY KEY,
    organisation_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    name            text NOT NULL,
    requirements    jsonb NOT NULL,
    version         integer NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX requirement_profiles_organisation ON requirement_profiles (organisation_id, id);
-- The worklist walks an organisation's live read grants by person.
CREATE INDEX grants_organisation_person ON grants (organisation_id, person_id);
