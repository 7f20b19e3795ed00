-- An organisation's LRS usage is the sum of a few rows (slots). Each write adds to one slot,
-- and keeps that row locked until it commits: concurrent writers of one organisation take
-- different slots instead of queueing on one row through each other's commits. A write close
-- to a quota locks every slot, and so counts exactly (see `xapi::usage`).
ALTER TABLE xapi_usage ADD COLUMN slot smallint NOT NULL DEFAULT 0;
ALTER TABLE xapi_usage DROP CONSTRAINT xapi_usage_pkey;
ALTER TABLE xapi_usage ADD PRIMARY KEY (organisation_id, slot);
-- Every organisation counted so far gets its other slots now, as a new one does at its first
-- write.
INSERT INTO xapi_usage (organisation_id, slot)
SELECT u.organisation_id, g.n FROM xapi_usage u, generate_series(1, 15) AS g (n)
ON CONFLICT DO NOTHING;
