-- Playlists and collections, the public events and the popularity windows.

-- Per-user models hold exactly what the user's state records (balados.user-state.v1) hold, so that
-- a rebuild from those records gives the same rows as the incremental path: the columns that only
-- events knew go.
ALTER TABLE users.subscriptions DROP COLUMN last_sequence;
ALTER TABLE users.user_privacy DROP COLUMN updated_at;
ALTER TABLE users.devices DROP COLUMN updated_at;

CREATE TABLE users.playlists (
    user_id     text    NOT NULL,
    playlist_id text    NOT NULL,
    name        text    NOT NULL,
    description text,
    public      boolean NOT NULL,
    PRIMARY KEY (user_id, playlist_id)
);

CREATE TABLE users.playlist_items (
    user_id       text NOT NULL,
    playlist_id   text NOT NULL,
    position      int  NOT NULL, -- 0-based, contiguous
    item_id       text NOT NULL,
    feed_id       text NOT NULL,
    feed_url      text NOT NULL,
    guid          text NOT NULL,
    enclosure_url text NOT NULL,
    PRIMARY KEY (user_id, playlist_id, position)
);

CREATE TABLE users.collections (
    user_id       text    NOT NULL,
    collection_id text    NOT NULL,
    title         text    NOT NULL,
    is_default    boolean NOT NULL,
    public        boolean NOT NULL,
    PRIMARY KEY (user_id, collection_id)
);

CREATE TABLE users.collection_feeds (
    user_id       text NOT NULL,
    collection_id text NOT NULL,
    position      int  NOT NULL, -- 0-based, contiguous
    feed_id       text NOT NULL,
    feed_url      text NOT NULL,
    PRIMARY KEY (user_id, collection_id, position)
);

CREATE SCHEMA IF NOT EXISTS site;

-- Events visible to everyone, filtered by the owner's privacy: public ones with the user id,
-- anonymous ones without it, private ones absent. `bucket` is the event-time hour the event counts
-- in for the windowed scores, null when it arrived after the grace period (all-time totals only).
CREATE TABLE site.public_events (
    event_id      uuid        PRIMARY KEY,
    event_type    text        NOT NULL CHECK (event_type IN ('subscribe', 'play', 'save', 'share')),
    user_id       text,
    feed_id       text        NOT NULL,
    feed_url      text        NOT NULL,
    item_id       text,
    guid          text,
    enclosure_url text,
    occurred_at   timestamptz NOT NULL,
    bucket        timestamptz
);
CREATE INDEX public_events_recent ON site.public_events (occurred_at DESC, event_id);
CREATE INDEX public_events_feed ON site.public_events (feed_id, occurred_at DESC);
CREATE INDEX public_events_item ON site.public_events (item_id, occurred_at DESC) WHERE item_id IS NOT NULL;

-- Which user published which public event, anonymous ones included, so that a later privacy change
-- or removal finds them. Private to the owner; never served by the public routes.
CREATE TABLE users.public_event_refs (
    event_id uuid PRIMARY KEY,
    user_id  text NOT NULL
);
CREATE INDEX public_event_refs_user ON users.public_event_refs (user_id);

-- Events whose public record changed (published, anonymised, withdrawn), in order, until relayed to
-- balados.public-events.v1: the current row is published, or a tombstone when there is none.
CREATE TABLE site.public_event_outbox (
    id       bigserial PRIMARY KEY,
    event_id uuid      NOT NULL
);

-- All-time totals of the public events.
CREATE TABLE site.podcast_popularity (
    feed_id    text   PRIMARY KEY,
    feed_url   text   NOT NULL,
    score      bigint NOT NULL,
    plays      bigint NOT NULL,
    likes      bigint NOT NULL,
    subscribes bigint NOT NULL,
    shares     bigint NOT NULL
);

CREATE TABLE site.episode_popularity (
    item_id       text   PRIMARY KEY,
    feed_id       text   NOT NULL,
    feed_url      text   NOT NULL,
    guid          text   NOT NULL,
    enclosure_url text   NOT NULL,
    score         bigint NOT NULL,
    plays         bigint NOT NULL,
    likes         bigint NOT NULL,
    shares        bigint NOT NULL
);
CREATE INDEX episode_popularity_feed ON site.episode_popularity (feed_id, score DESC);

-- Event-time hourly buckets: the windowed scores (trending, 7 and 30 days) are sums over them.
CREATE TABLE site.podcast_popularity_hourly (
    feed_id text        NOT NULL,
    bucket  timestamptz NOT NULL,
    score   bigint      NOT NULL,
    plays   bigint      NOT NULL,
    likes   bigint      NOT NULL,
    PRIMARY KEY (feed_id, bucket)
);
CREATE INDEX podcast_popularity_hourly_bucket ON site.podcast_popularity_hourly (bucket);

CREATE TABLE site.episode_popularity_hourly (
    item_id text        NOT NULL,
    bucket  timestamptz NOT NULL,
    feed_id text        NOT NULL,
    score   bigint      NOT NULL,
    plays   bigint      NOT NULL,
    likes   bigint      NOT NULL,
    PRIMARY KEY (item_id, bucket)
);
CREATE INDEX episode_popularity_hourly_bucket ON site.episode_popularity_hourly (bucket);

-- The public projection keeps its own position per user: equal to last_sequence in steady state,
-- behind it just after a rebuild that took the per-user models from newer state records.
ALTER TABLE materializer.user_sequences ADD COLUMN public_sequence bigint;
UPDATE materializer.user_sequences SET public_sequence = last_sequence;
ALTER TABLE materializer.user_sequences ALTER COLUMN public_sequence SET NOT NULL;
