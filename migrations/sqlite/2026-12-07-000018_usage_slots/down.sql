CREATE TABLE xapi_usage_one (
    organisation_id  TEXT PRIMARY KEY REFERENCES organisations (id) ON DELETE CASCADE,
    statements       BIGINT NOT NULL DEFAULT 0,
    documents        BIGINT NOT NULL DEFAULT 0,
    attachment_bytes BIGINT NOT NULL DEFAULT 0
);
INSERT INTO xapi_usage_one (organisation_id, statements, documents, attachment_bytes)
SELECT organisation_id, sum(statements), sum(documents), sum(attachment_bytes)
FROM xapi_usage GROUP BY organisation_id;
DROP TABLE xapi_usage;
ALTER TABLE xapi_usage_one RENAME TO xapi_usage;
