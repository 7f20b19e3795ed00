DROP INDEX clients_organisation;
CREATE INDEX clients_organisation ON clients (organisation_id);
