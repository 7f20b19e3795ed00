DROP TABLE access_events;
DROP TABLE grants;
