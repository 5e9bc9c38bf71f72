-- Users whose event sequence jumped (events lost upstream): their projection is held — their later
-- events are not applied — until `balados admin repair-user` rebuilds them from the state records
-- and deletes the row. Other users are not affected.
CREATE TABLE materializer.sequence_gaps (
    user_id     text        PRIMARY KEY,
    -- The last sequence applied, and the one that arrived instead of the next.
    applied     bigint      NOT NULL,
    found       bigint      NOT NULL,
    event_id    uuid        NOT NULL,
    detected_at timestamptz NOT NULL DEFAULT now()
);
