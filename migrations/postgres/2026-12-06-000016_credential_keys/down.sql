ALTER TABLE credentials DROP COLUMN kid;
