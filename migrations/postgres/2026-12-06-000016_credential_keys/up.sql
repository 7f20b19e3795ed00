-- The key each credential was signed with, so that a key is not retired while what it signed
-- is still valid. Credentials issued before this column existed have none.
ALTER TABLE credentials ADD COLUMN kid TEXT;
