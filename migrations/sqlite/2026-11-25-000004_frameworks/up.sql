-- Learning-outcomes frameworks, people's attainments of their outcomes, and verifications.

CREATE TABLE frameworks (
    code       TEXT NOT NULL,
    version    TEXT NOT NULL,
    title      TEXT NOT NULL,
    document   TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (code, version)
);

CREATE TABLE attainments (
    id                TEXT PRIMARY KEY,
    person_id         TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    framework_code    TEXT NOT NULL,
    framework_version TEXT NOT NULL,
    outcome_code      TEXT NOT NULL,
    domain_code       TEXT NOT NULL,
    level             INTEGER NOT NULL,
    achieved_on       TEXT NOT NULL,
    reflection        TEXT,
    evidence          TEXT NOT NULL,
    status            TEXT NOT NULL,
    verification_id   TEXT,
    version           INTEGER NOT NULL DEFAULT 1,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    FOREIGN KEY (framework_code, framework_version) REFERENCES frameworks (code, version)
);
CREATE INDEX attainments_person ON attainments (person_id, id);

-- Every sign-off ever given; an attainment points at the one in force, if any.
CREATE TABLE attainment_verifications (
    id              TEXT PRIMARY KEY,
    attainment_id   TEXT NOT NULL REFERENCES attainments (id) ON DELETE CASCADE,
    organisation_id TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    assessor_name   TEXT NOT NULL,
    assessor_role   TEXT NOT NULL,
    level           INTEGER NOT NULL,
    comment         TEXT,
    verified_at     TEXT NOT NULL
);
CREATE INDEX attainment_verifications_attainment ON attainment_verifications (attainment_id, id);
