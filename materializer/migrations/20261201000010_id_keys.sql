-- Feed and episode ids are base64url of a URL of up to 2,048 bytes (of "guid,url" for an episode:
-- up to 3,400 bytes), longer than a btree entry may be (2,704 bytes). The read models therefore
-- index a 16-byte digest of each id, kept beside it by PostgreSQL itself, and look ids up by it.
-- MD5 is enough here: no one can make an id collide with an id they did not choose (a second
-- preimage), and two ids one client chose to collide only merge that client's own rows.
CREATE FUNCTION site.id_key(id text) RETURNS bytea
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN decode(md5(id), 'hex');

ALTER TABLE users.subscriptions
    ADD COLUMN feed_key bytea NOT NULL GENERATED ALWAYS AS (site.id_key(feed_id)) STORED,
    DROP CONSTRAINT subscriptions_pkey,
    ADD PRIMARY KEY (user_id, feed_key);

ALTER TABLE users.play_statuses
    ADD COLUMN item_key bytea NOT NULL GENERATED ALWAYS AS (site.id_key(item_id)) STORED,
    DROP CONSTRAINT play_statuses_pkey,
    ADD PRIMARY KEY (user_id, item_key);
DROP INDEX users.play_statuses_recent;
CREATE INDEX play_statuses_recent ON users.play_statuses (user_id, updated_at DESC, item_key)
    WHERE updated_at IS NOT NULL;

ALTER TABLE users.user_privacy
    ADD COLUMN scope_key bytea NOT NULL GENERATED ALWAYS AS (site.id_key(scope_id)) STORED,
    DROP CONSTRAINT user_privacy_pkey,
    ADD PRIMARY KEY (user_id, scope, scope_key);

ALTER TABLE site.public_events
    ADD COLUMN feed_key bytea NOT NULL GENERATED ALWAYS AS (site.id_key(feed_id)) STORED,
    ADD COLUMN item_key bytea GENERATED ALWAYS AS (site.id_key(item_id)) STORED;
DROP INDEX site.public_events_feed;
DROP INDEX site.public_events_item;
CREATE INDEX public_events_feed ON site.public_events (feed_key, occurred_at DESC);
CREATE INDEX public_events_item ON site.public_events (item_key, occurred_at DESC)
    WHERE item_key IS NOT NULL;

ALTER TABLE site.podcast_popularity
    ADD COLUMN feed_key bytea NOT NULL GENERATED ALWAYS AS (site.id_key(feed_id)) STORED,
    DROP CONSTRAINT podcast_popularity_pkey,
    ADD PRIMARY KEY (feed_key);

ALTER TABLE site.episode_popularity
    ADD COLUMN item_key bytea NOT NULL GENERATED ALWAYS AS (site.id_key(item_id)) STORED,
    ADD COLUMN feed_key bytea NOT NULL GENERATED ALWAYS AS (site.id_key(feed_id)) STORED,
    DROP CONSTRAINT episode_popularity_pkey,
    ADD PRIMARY KEY (item_key);
DROP INDEX site.episode_popularity_feed;
CREATE INDEX episode_popularity_feed ON site.episode_popularity (feed_key, score DESC);

ALTER TABLE site.podcast_popularity_hourly
    ADD COLUMN feed_key bytea NOT NULL GENERATED ALWAYS AS (site.id_key(feed_id)) STORED,
    DROP CONSTRAINT podcast_popularity_hourly_pkey,
    ADD PRIMARY KEY (feed_key, bucket);

ALTER TABLE site.episode_popularity_hourly
    ADD COLUMN item_key bytea NOT NULL GENERATED ALWAYS AS (site.id_key(item_id)) STORED,
    DROP CONSTRAINT episode_popularity_hourly_pkey,
    ADD PRIMARY KEY (item_key, bucket);
