-- Outcomes of commands, from balados.command-results.v1, for GET /api/v1/commands/{id}.
-- The first outcome of a command id is kept (a repeat for a retried command is a duplicate).
CREATE TABLE users.command_outcomes (
    command_id         uuid        PRIMARY KEY,
    user_id            text        NOT NULL,
    rejection_code     text,
    message            text,
    first_sequence     bigint      NOT NULL,
    event_count        int         NOT NULL,
    events_partition   int         NOT NULL,
    events_next_offset bigint      NOT NULL,
    recorded_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX command_outcomes_recorded_at ON users.command_outcomes (recorded_at);
