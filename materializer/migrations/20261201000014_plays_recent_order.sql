-- The plays list pages by (updated_at DESC, item_key DESC): the index holds that order, so a page
-- is read from it without sorting the ties.
DROP INDEX users.play_statuses_recent;
CREATE INDEX play_statuses_recent ON users.play_statuses (user_id, updated_at DESC, item_key DESC)
    WHERE updated_at IS NOT NULL;
