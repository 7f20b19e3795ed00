-- The record or attainment an Open Badges credential is of, so that the badge is revoked when
-- what it attests is withdrawn (a record voided by its issuer, a sign-off that ended).
ALTER TABLE credentials ADD COLUMN record_id TEXT;
ALTER TABLE credentials ADD COLUMN attainment_id TEXT;
CREATE INDEX credentials_record ON credentials (record_id) WHERE record_id IS NOT NULL;
CREATE INDEX credentials_attainment ON credentials (attainment_id) WHERE attainment_id IS NOT NULL;
