-- An organisation's clients are listed a page at a time, oldest first: keyset on the id within
-- the organisation.
DROP INDEX clients_organisation;
CREATE INDEX clients_organisation ON clients (organisation_id, id);
