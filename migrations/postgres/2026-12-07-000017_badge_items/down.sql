DROP INDEX credentials_attainment;
DROP INDEX credentials_record;
ALTER TABLE credentials DROP COLUMN attainment_id;
ALTER TABLE credentials DROP COLUMN record_id;
