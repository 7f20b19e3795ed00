-- Learning-outcomes frameworks, people's attainments of their outcomes, and verifications.

CREATE TABLE frameworks (
    code       text NOT NULL,
    version    text NOT NULL,
    title      text NOT NULL,
    document   jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (code, version)
);

CREATE TABLE attainments (
    id                uuid PRIMARY KEY,
    person_id         uuid NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    framework_code    text NOT NULL,
    framework_version text NOT NULL,
    outcome_code      text NOT NULL,
    domain_code       text NOT NULL,
    level             integer NOT NULL,
    achieved_on       date NOT NULL,
    reflection        text,
    evidence          jsonb NOT NULL,
    status            text NOT NULL,
    verification_id   uuid,
    version           integer NOT NULL DEFAULT 1,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    FOREIGN KEY (framework_code, framework_version) REFERENCES frameworks (code, version)
);
CREATE INDEX attainments_person ON attainments (person_id, id);

-- Every sign-off ever given; an attainment points at the one in force, if any.
CREATE TABLE attainment_verifications (
    id              uuid PRIMARY KEY,
    attainment_id   uuid NOT NULL REFERENCES attainments (id) ON DELETE CASCADE,
    organisation_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    assessor_name   text NOT NULL,
    assessor_role   text NOT NULL,
    level           integer NOT NULL,
    comment         text,
    verified_at     timestamptz NOT NULL
);
CREATE INDEX attainment_verifications_attainment ON attainment_verifications (attainment_id, id);
