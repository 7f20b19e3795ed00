DROP TABLE credentials;
DELETE FROM access_events WHERE person_id IS NULL;
