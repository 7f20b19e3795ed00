UPDATE xapi_usage u
SET statements = t.statements, documents = t.documents, attachment_bytes = t.attachment_bytes
FROM (SELECT organisation_id, sum(statements) AS statements, sum(documents) AS documents,
             sum(attachment_bytes) AS attachment_bytes
      FROM xapi_usage GROUP BY organisation_id) t
WHERE u.organisation_id = t.organisation_id AND u.slot = 0;
DELETE FROM xapi_usage WHERE slot <> 0;
ALTER TABLE xapi_usage DROP CONSTRAINT xapi_usage_pkey;
ALTER TABLE xapi_usage DROP COLUMN slot;
ALTER TABLE xapi_usage ADD PRIMARY KEY (organisation_id);
