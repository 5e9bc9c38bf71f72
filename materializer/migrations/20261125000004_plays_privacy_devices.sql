-- Per-user read models of plays, privacy settings and devices.

-- One row per (user, episode) the user played or saved.
CREATE TABLE users.play_statuses (
    user_id       text        NOT NULL,
    item_id       text        NOT NULL, -- base64url of "guid,enclosure_url", as used in URLs
    feed_id       text        NOT NULL,
    feed_url      text        NOT NULL,
    guid          text        NOT NULL,
    enclosure_url text        NOT NULL,
    position      bigint      NOT NULL DEFAULT 0, -- seconds
    duration      bigint,
    played        boolean     NOT NULL DEFAULT false,
    updated_at    timestamptz,          -- last play status change; null when only saved
    saved_at      timestamptz,          -- null when not saved
    PRIMARY KEY (user_id, item_id)
);
CREATE INDEX play_statuses_recent ON users.play_statuses (user_id, updated_at DESC, item_id)
    WHERE updated_at IS NOT NULL;

-- The user's privacy settings: scope 'global' (scope_id ''), 'feed' (feed id) or 'item' (item id).
CREATE TABLE users.user_privacy (
    user_id    text        NOT NULL,
    scope      text        NOT NULL CHECK (scope IN ('global', 'feed', 'item')),
    scope_id   text        NOT NULL,
    privacy    text        NOT NULL CHECK (privacy IN ('public', 'anonymous', 'private')),
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, scope, scope_id)
);

CREATE TABLE users.devices (
    user_id    text        NOT NULL,
    device_id  text        NOT NULL,
    caption    text,
    kind       text,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, device_id)
);
