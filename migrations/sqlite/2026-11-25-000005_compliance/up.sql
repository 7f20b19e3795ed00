-- Employers' requirement profiles for roles.

CREATE TABLE requirement_profiles (
    id              TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    requirements    TEXT NOT NULL,
    version         INTEGER NOT NULL DEFAULT 1,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX requirement_profiles_organisation ON requirement_profiles (organisation_id, id);
-- The worklist walks an organisation's live read grants by person.
CREATE INDEX grants_organisation_person ON grants (organisation_id, person_id);
