-- Read models of the per-user state, and the materializer's own bookkeeping.
CREATE SCHEMA IF NOT EXISTS users;
CREATE SCHEMA IF NOT EXISTS materializer;

-- One row per (user, feed) ever subscribed; active when unsubscribed_at is null or older than
-- subscribed_at (a tie keeps it subscribed).
CREATE TABLE users.subscriptions (
    user_id         text        NOT NULL,
    feed_id         text        NOT NULL, -- base64url of feed_url, as used in URLs
    feed_url        text        NOT NULL,
    source_id       text,
    subscribed_at   timestamptz,
    unsubscribed_at timestamptz,
    last_sequence   bigint      NOT NULL, -- the user's event sequence that last changed the row
    PRIMARY KEY (user_id, feed_id)
);

-- The last event sequence applied per user: an event at or below it is a replay and is dropped.
CREATE TABLE materializer.user_sequences (
    user_id       text   PRIMARY KEY,
    last_sequence bigint NOT NULL
);

-- Next offset to read per consumer and partition, written in the same transaction as the rows.
CREATE TABLE materializer.offsets (
    consumer    text   NOT NULL,
    topic       text   NOT NULL,
    partition   int    NOT NULL,
    next_offset bigint NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, topic, partition)
);

-- Events that could not be applied, with their reason and position: never silently skipped.
CREATE TABLE materializer.quarantine (
    topic       text   NOT NULL,
    partition   int    NOT NULL,
    "offset"    bigint NOT NULL,
    reason      text   NOT NULL,
    payload     bytea,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (topic, partition, "offset")
);
