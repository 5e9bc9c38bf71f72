-- One user's repeated plays, saves, shares of an episode (subscriptions to a feed) earn points once
-- per day of event time: the first is counted, the others are public events without points.
ALTER TABLE site.public_events ADD COLUMN counted boolean NOT NULL DEFAULT true;

-- The keys that counted. The target (an episode or feed id, up to 2.5 KB) is keyed by its MD5 so
-- that the key fits a btree entry. Kept as long as the longest window (30 days) plus the grace.
CREATE TABLE site.popularity_counted (
    user_id     text  NOT NULL,
    day         date  NOT NULL,
    kind        text  NOT NULL,
    target_hash bytea NOT NULL,
    PRIMARY KEY (user_id, day, kind, target_hash)
);
CREATE INDEX popularity_counted_day ON site.popularity_counted (day);
