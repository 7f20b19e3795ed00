DROP INDEX grants_organisation_person;
DROP TABLE requirement_profiles;
