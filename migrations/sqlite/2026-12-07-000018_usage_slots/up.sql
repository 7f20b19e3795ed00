-- An organisation's LRS usage is the sum of a few rows (slots), as on PostgreSQL, where
-- concurrent writers take different slots. SQLite has one writer, so it only ever uses slot 0;
-- the table has the same shape on both databases.
CREATE TABLE xapi_usage_slots (
    organisation_id  TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    slot             SMALLINT NOT NULL DEFAULT 0,
    statements       BIGINT NOT NULL DEFAULT 0,
    documents        BIGINT NOT NULL DEFAULT 0,
    attachment_bytes BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (organisation_id, slot)
);
INSERT INTO xapi_usage_slots (organisation_id, slot, statements, documents, attachment_bytes)
SELECT organisation_id, 0, statements, documents, attachment_bytes FROM xapi_usage;
DROP TABLE xapi_usage;
ALTER TABLE xapi_usage_slots RENAME TO xapi_usage;
