DROP INDEX people_verified_email;
ALTER TABLE people DROP COLUMN email_verified;
DROP TABLE xapi_documents;
DROP TABLE xapi_activities;
DROP TABLE xapi_attachments;
DROP TABLE xapi_statement_index;
DROP TABLE xapi_statements;
