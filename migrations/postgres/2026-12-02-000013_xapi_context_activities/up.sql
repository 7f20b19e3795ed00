-- Work a migration leaves for the service to finish in Rust, where SQL cannot do it
-- faithfully: one row per job, deleted by the service (as it starts, after migrating) once the
-- job is done. A job may run more than once (two instances starting together, a crash halfway):
-- each is written to be repeatable.
CREATE TABLE data_migrations (
    name TEXT PRIMARY KEY
);

-- Statements stored with a single Activity object as a contextActivities value are rewritten
-- with an array of one, the form the LRS stores and answers from now on (xAPI Data 2.4.6.2).
-- The statement text is the one the service wrote, so the service rewrites it the same way.
INSERT INTO data_migrations (name) VALUES ('xapi_context_activities_as_arrays');
