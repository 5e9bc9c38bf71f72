-- Subscription changes are read by position, in pages, for one user (the gpodder API's `since`,
-- the bulk sync's pages), like episode actions (play_statuses_sync).
CREATE INDEX subscriptions_sync ON users.subscriptions (user_id, sync_position);
