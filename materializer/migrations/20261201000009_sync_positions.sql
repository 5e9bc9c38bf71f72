-- Sync positions (Unix-seconds-like, unique and increasing per user, assigned by the aggregate):
-- what the gpodder-style APIs compare `since` with, and answer as `timestamp`. Rows written before
-- have 0, so a client's first `since` (0) still gets them.
ALTER TABLE users.subscriptions ADD COLUMN sync_position bigint NOT NULL DEFAULT 0;
ALTER TABLE users.play_statuses ADD COLUMN sync_position bigint NOT NULL DEFAULT 0;
-- Episode actions are read by position, in pages, for one user.
CREATE INDEX play_statuses_sync ON users.play_statuses (user_id, sync_position);
-- The position the user's per-user models have reached.
ALTER TABLE materializer.user_sequences ADD COLUMN last_position bigint NOT NULL DEFAULT 0;
