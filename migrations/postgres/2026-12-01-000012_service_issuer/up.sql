-- What the service calls itself in the tokens it signs and accepts (`iss`, `aud`), recorded by
-- each instance as it starts, so that `learning-passport token person` pointed at the same
-- database mints tokens the service accepts without being told its settings again. One row.
CREATE TABLE service_identity (
    id          integer PRIMARY KEY CHECK (id = 1),
    issuer      text,
    audience    text,
    recorded_at timestamptz
);
INSERT INTO service_identity (id) VALUES (1);
