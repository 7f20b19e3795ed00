DELETE FROM access_events WHERE person_id IS NULL;
ALTER TABLE access_events DROP CONSTRAINT access_events_person_id_fkey;
ALTER TABLE access_events ADD CONSTRAINT access_events_person_id_fkey
    FOREIGN KEY (person_id) REFERENCES people (id) ON DELETE CASCADE;
ALTER TABLE access_events ALTER COLUMN person_id SET NOT NULL;
DROP TABLE credentials;
