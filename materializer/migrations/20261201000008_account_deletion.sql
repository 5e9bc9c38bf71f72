-- A deleted account's command outcomes are deleted with its other rows (by user, rarely); without
-- this index each deletion would scan every outcome of the retention period.
CREATE INDEX command_outcomes_user ON users.command_outcomes (user_id);
