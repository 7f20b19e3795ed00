-- What happened, written by each domain in the transaction of the change that caused it. The
-- webhook side drains it straight after the change commits and decides who is told.
CREATE TABLE outbox (
    id         uuid PRIMARY KEY,
    event      jsonb NOT NULL,
    -- The person the event is about, so that erasure finds it.
    person_id  uuid,
    created_at timestamptz NOT NULL
);
CREATE INDEX outbox_person ON outbox (person_id) WHERE person_id IS NOT NULL;
