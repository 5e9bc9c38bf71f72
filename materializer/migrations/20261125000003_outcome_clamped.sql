-- Whether the command's client time was clamped (too far in the future), reported with its outcome.
ALTER TABLE users.command_outcomes ADD COLUMN clamped boolean NOT NULL DEFAULT false;
