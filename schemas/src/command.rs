//! Commands: what a user asks for, as produced by the ingest API to `commands`.

use crate::avro::{
    self, Fields, ShapeError, millis, opt_bool, opt_long, opt_string, record, record_with, string,
};
use crate::fields::{
    Description, DeviceId, DeviceKind, FieldError, LocalId, Name, Seconds, SourceId,
};
use crate::ids::{FeedUrl, ItemId, UserId};
use crate::values::{Privacy, Scope};
use apache_avro::types::Value;
use chrono::{DateTime, Utc};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandEnvelope {
    pub command_id: Uuid,
    pub user_id: UserId,
    /// Client time, not yet clamped (the aggregator clamps it).
    pub occurred_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub app_id: Option<String>,
    pub device_id: Option<DeviceId>,
    pub device_name: Option<Name>,
    pub reply_to: Option<String>,
    pub payload: CommandPayload,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandPayload {
    Subscribe {
        feed: FeedUrl,
        source_id: Option<SourceId>,
    },
    Unsubscribe {
        feed: FeedUrl,
    },
    RecordPlay {
        feed: FeedUrl,
        item: ItemId,
        /// Within the duration: the aggregator's rule (it may come from the state).
        position: Seconds,
        duration: Option<Seconds>,
        played: bool,
    },
    UpdatePosition {
        item: ItemId,
        position: Seconds,
    },
    SaveEpisode {
        feed: FeedUrl,
        item: ItemId,
    },
    UnsaveEpisode {
        item: ItemId,
    },
    ShareEpisode {
        feed: FeedUrl,
        item: ItemId,
    },
    ChangePrivacy {
        scope: Scope,
        privacy: Privacy,
    },
    RemoveEvents {
        scope: Scope,
    },
    CreatePlaylist {
        playlist_id: LocalId,
        name: Name,
        description: Option<Description>,
        public: bool,
    },
    UpdatePlaylist {
        playlist_id: LocalId,
        name: Option<Name>,
        /// An empty description removes it.
        description: Option<Description>,
        public: Option<bool>,
    },
    DeletePlaylist {
        playlist_id: LocalId,
    },
    AddPlaylistItem {
        playlist_id: LocalId,
        feed: FeedUrl,
        item: ItemId,
    },
    RemovePlaylistItem {
        playlist_id: LocalId,
        item: ItemId,
    },
    ReorderPlaylist {
        playlist_id: LocalId,
        items: Vec<ItemId>,
    },
    CreateCollection {
        collection_id: LocalId,
        title: Name,
        public: bool,
    },
    UpdateCollection {
        collection_id: LocalId,
        title: Option<Name>,
        public: Option<bool>,
    },
    DeleteCollection {
        collection_id: LocalId,
    },
    AddCollectionFeed {
        collection_id: LocalId,
        feed: FeedUrl,
    },
    RemoveCollectionFeed {
        collection_id: LocalId,
        feed: FeedUrl,
    },
    MoveCollectionFeed {
        collection_id: LocalId,
        feed: FeedUrl,
        position: i64,
    },
    UpsertDevice {
        device_id: DeviceId,
        caption: Option<Name>,
        kind: Option<DeviceKind>,
    },
}

impl CommandPayload {
    /// A short stable name, for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Subscribe { .. } => "subscribe",
            Self::Unsubscribe { .. } => "unsubscribe",
            Self::RecordPlay { .. } => "record_play",
            Self::UpdatePosition { .. } => "update_position",
            Self::SaveEpisode { .. } => "save_episode",
            Self::UnsaveEpisode { .. } => "unsave_episode",
            Self::ShareEpisode { .. } => "share_episode",
            Self::ChangePrivacy { .. } => "change_privacy",
            Self::RemoveEvents { .. } => "remove_events",
            Self::CreatePlaylist { .. } => "create_playlist",
            Self::UpdatePlaylist { .. } => "update_playlist",
            Self::DeletePlaylist { .. } => "delete_playlist",
            Self::AddPlaylistItem { .. } => "add_playlist_item",
            Self::RemovePlaylistItem { .. } => "remove_playlist_item",
            Self::ReorderPlaylist { .. } => "reorder_playlist",
            Self::CreateCollection { .. } => "create_collection",
            Self::UpdateCollection { .. } => "update_collection",
            Self::DeleteCollection { .. } => "delete_collection",
            Self::AddCollectionFeed { .. } => "add_collection_feed",
            Self::RemoveCollectionFeed { .. } => "remove_collection_feed",
            Self::MoveCollectionFeed { .. } => "move_collection_feed",
            Self::UpsertDevice { .. } => "upsert_device",
        }
    }

    /// The union branch (its index in `command.avsc`) and its record.
    fn to_avro(&self) -> (u32, Value) {
        use avro::{feed as f, item as i, scope as s};
        let id = |name: &'static str, v: &LocalId| (name, string(v.as_str()));
        let text = |v: Option<&str>| opt_string(v);
        let secs = |v: Seconds| Value::Long(v.get() as i64);
        match self {
            Self::Subscribe { feed, source_id } => (
                0,
                record(vec![
                    f(feed),
                    ("source_id", text(source_id.as_ref().map(SourceId::as_str))),
                ]),
            ),
            Self::Unsubscribe { feed } => (1, record(vec![f(feed)])),
            Self::RecordPlay {
                feed,
                item,
                position,
                duration,
                played,
            } => (
                2,
                record_with(
                    i(item),
                    vec![
                        f(feed),
                        ("position", secs(*position)),
                        ("duration", opt_long(duration.map(|d| d.get() as i64))),
                        ("played", Value::Boolean(*played)),
                    ],
                ),
            ),
            Self::UpdatePosition { item, position } => {
                (3, record_with(i(item), vec![("position", secs(*position))]))
            }
            Self::SaveEpisode { feed, item } => (4, record_with(i(item), vec![f(feed)])),
            Self::UnsaveEpisode { item } => (5, record_with(i(item), vec![])),
            Self::ShareEpisode { feed, item } => (6, record_with(i(item), vec![f(feed)])),
            Self::ChangePrivacy { scope, privacy } => (
                7,
                record_with(s(scope), vec![("privacy", string(privacy.as_str()))]),
            ),
            Self::RemoveEvents { scope } => (8, record_with(s(scope), vec![])),
            Self::CreatePlaylist {
                playlist_id,
                name,
                description,
                public,
            } => (
                9,
                record(vec![
                    id("playlist_id", playlist_id),
                    ("name", string(name.as_str())),
                    (
                        "description",
                        text(description.as_ref().map(Description::as_str)),
                    ),
                    ("public", Value::Boolean(*public)),
                ]),
            ),
            Self::UpdatePlaylist {
                playlist_id,
                name,
                description,
                public,
            } => (
                10,
                record(vec![
                    id("playlist_id", playlist_id),
                    ("name", text(name.as_ref().map(Name::as_str))),
                    (
                        "description",
                        text(description.as_ref().map(Description::as_str)),
                    ),
                    ("public", opt_bool(*public)),
                ]),
            ),
            Self::DeletePlaylist { playlist_id } => {
                (11, record(vec![id("playlist_id", playlist_id)]))
            }
            Self::AddPlaylistItem {
                playlist_id,
                feed,
                item,
            } => (
                12,
                record_with(i(item), vec![id("playlist_id", playlist_id), f(feed)]),
            ),
            Self::RemovePlaylistItem { playlist_id, item } => (
                13,
                record_with(i(item), vec![id("playlist_id", playlist_id)]),
            ),
            Self::ReorderPlaylist { playlist_id, items } => (
                14,
                record(vec![
                    id("playlist_id", playlist_id),
                    (
                        "items",
                        Value::Array(items.iter().map(|it| record_with(i(it), vec![])).collect()),
                    ),
                ]),
            ),
            Self::CreateCollection {
                collection_id,
                title,
                public,
            } => (
                15,
                record(vec![
                    id("collection_id", collection_id),
                    ("title", string(title.as_str())),
                    ("public", Value::Boolean(*public)),
                ]),
            ),
            Self::UpdateCollection {
                collection_id,
                title,
                public,
            } => (
                16,
                record(vec![
                    id("collection_id", collection_id),
                    ("title", text(title.as_ref().map(Name::as_str))),
                    ("public", opt_bool(*public)),
                ]),
            ),
            Self::DeleteCollection { collection_id } => {
                (17, record(vec![id("collection_id", collection_id)]))
            }
            Self::AddCollectionFeed {
                collection_id,
                feed,
            } => (
                18,
                record(vec![id("collection_id", collection_id), f(feed)]),
            ),
            Self::RemoveCollectionFeed {
                collection_id,
                feed,
            } => (
                19,
                record(vec![id("collection_id", collection_id), f(feed)]),
            ),
            Self::MoveCollectionFeed {
                collection_id,
                feed,
                position,
            } => (
                20,
                record(vec![
                    id("collection_id", collection_id),
                    f(feed),
                    ("position", Value::Long(*position)),
                ]),
            ),
            Self::UpsertDevice {
                device_id,
                caption,
                kind,
            } => (
                21,
                record(vec![
                    ("device_id", string(device_id.as_str())),
                    ("caption", text(caption.as_ref().map(Name::as_str))),
                    ("kind", text(kind.as_ref().map(DeviceKind::as_str))),
                ]),
            ),
        }
    }

    fn from_avro(branch: u32, value: Value) -> Result<Self, ShapeError> {
        let mut p = Fields::of(value)?;
        Ok(match branch {
            0 => Self::Subscribe {
                feed: p.feed()?,
                source_id: opt_field(p.opt_string("source_id")?, "source_id", SourceId::parse)?,
            },
            1 => Self::Unsubscribe { feed: p.feed()? },
            2 => Self::RecordPlay {
                feed: p.feed()?,
                item: p.item()?,
                position: seconds(p.long("position")?, "position")?,
                duration: p
                    .opt_long("duration")?
                    .map(|d| seconds(d, "duration"))
                    .transpose()?,
                played: p.boolean("played")?,
            },
            3 => Self::UpdatePosition {
                item: p.item()?,
                position: seconds(p.long("position")?, "position")?,
            },
            4 => Self::SaveEpisode {
                feed: p.feed()?,
                item: p.item()?,
            },
            5 => Self::UnsaveEpisode { item: p.item()? },
            6 => Self::ShareEpisode {
                feed: p.feed()?,
                item: p.item()?,
            },
            7 => Self::ChangePrivacy {
                scope: p.scope()?,
                privacy: Privacy::parse(&p.string("privacy")?).ok_or_else(|| {
                    ShapeError("privacy: not public, anonymous or private".into())
                })?,
            },
            8 => Self::RemoveEvents { scope: p.scope()? },
            9 => Self::CreatePlaylist {
                playlist_id: field(&p.string("playlist_id")?, "playlist_id", LocalId::parse)?,
                name: field(&p.string("name")?, "name", Name::parse)?,
                description: opt_field(
                    p.opt_string("description")?,
                    "description",
                    Description::parse,
                )?,
                public: p.boolean("public")?,
            },
            10 => Self::UpdatePlaylist {
                playlist_id: field(&p.string("playlist_id")?, "playlist_id", LocalId::parse)?,
                name: opt_field(p.opt_string("name")?, "name", Name::parse)?,
                description: opt_field(
                    p.opt_string("description")?,
                    "description",
                    Description::parse,
                )?,
                public: p.opt_bool("public")?,
            },
            11 => Self::DeletePlaylist {
                playlist_id: field(&p.string("playlist_id")?, "playlist_id", LocalId::parse)?,
            },
            12 => Self::AddPlaylistItem {
                playlist_id: field(&p.string("playlist_id")?, "playlist_id", LocalId::parse)?,
                feed: p.feed()?,
                item: p.item()?,
            },
            13 => Self::RemovePlaylistItem {
                playlist_id: field(&p.string("playlist_id")?, "playlist_id", LocalId::parse)?,
                item: p.item()?,
            },
            14 => Self::ReorderPlaylist {
                playlist_id: field(&p.string("playlist_id")?, "playlist_id", LocalId::parse)?,
                items: p
                    .array("items")?
                    .into_iter()
                    .map(|v| Fields::of(v)?.item())
                    .collect::<Result<_, _>>()?,
            },
            15 => Self::CreateCollection {
                collection_id: field(&p.string("collection_id")?, "collection_id", LocalId::parse)?,
                title: field(&p.string("title")?, "title", Name::parse)?,
                public: p.boolean("public")?,
            },
            16 => Self::UpdateCollection {
                collection_id: field(&p.string("collection_id")?, "collection_id", LocalId::parse)?,
                title: opt_field(p.opt_string("title")?, "title", Name::parse)?,
                public: p.opt_bool("public")?,
            },
            17 => Self::DeleteCollection {
                collection_id: field(&p.string("collection_id")?, "collection_id", LocalId::parse)?,
            },
            18 => Self::AddCollectionFeed {
                collection_id: field(&p.string("collection_id")?, "collection_id", LocalId::parse)?,
                feed: p.feed()?,
            },
            19 => Self::RemoveCollectionFeed {
                collection_id: field(&p.string("collection_id")?, "collection_id", LocalId::parse)?,
                feed: p.feed()?,
            },
            20 => Self::MoveCollectionFeed {
                collection_id: field(&p.string("collection_id")?, "collection_id", LocalId::parse)?,
                feed: p.feed()?,
                position: p.long("position")?,
            },
            21 => Self::UpsertDevice {
                device_id: field(&p.string("device_id")?, "device_id", DeviceId::parse)?,
                caption: opt_field(p.opt_string("caption")?, "caption", Name::parse)?,
                kind: opt_field(p.opt_string("kind")?, "kind", DeviceKind::parse)?,
            },
            other => return Err(ShapeError(format!("unknown command branch {other}"))),
        })
    }
}

/// A decoded field goes through the same parse as at the ingest: a command from elsewhere that
/// breaks a bound is undecodable (dead-lettered), never decided.
fn field<T>(
    raw: &str,
    name: &str,
    parse: impl FnOnce(&str) -> Result<T, FieldError>,
) -> Result<T, ShapeError> {
    parse(raw).map_err(|e| ShapeError(format!("{name}: {e}")))
}

fn opt_field<T>(
    raw: Option<String>,
    name: &str,
    parse: impl FnOnce(&str) -> Result<T, FieldError>,
) -> Result<Option<T>, ShapeError> {
    raw.map(|r| field(&r, name, parse)).transpose()
}

fn seconds(raw: i64, name: &str) -> Result<Seconds, ShapeError> {
    Seconds::parse(raw).map_err(|e| ShapeError(format!("{name}: {e}")))
}

impl CommandEnvelope {
    pub fn to_avro(&self) -> Value {
        let (branch, payload) = self.payload.to_avro();
        let payload = Value::Union(branch, Box::new(payload));
        record(vec![
            ("command_id", Value::Uuid(self.command_id)),
            ("user_id", Value::String(self.user_id.as_str().to_owned())),
            ("occurred_at", millis(self.occurred_at)),
            ("received_at", millis(self.received_at)),
            ("app_id", opt_string(self.app_id.as_deref())),
            (
                "device_id",
                opt_string(self.device_id.as_ref().map(DeviceId::as_str)),
            ),
            (
                "device_name",
                opt_string(self.device_name.as_ref().map(Name::as_str)),
            ),
            ("reply_to", opt_string(self.reply_to.as_deref())),
            ("payload", payload),
        ])
    }

    pub fn from_avro(value: Value) -> Result<Self, ShapeError> {
        let mut f = Fields::of(value)?;
        let (branch, payload) = f.union("payload")?;
        let payload = CommandPayload::from_avro(branch, payload)?;
        let user = f.string("user_id")?;
        Ok(Self {
            command_id: f.uuid("command_id")?,
            user_id: UserId::parse(&user).map_err(|e| ShapeError(format!("user_id: {e}")))?,
            occurred_at: f.millis("occurred_at")?,
            received_at: f.millis("received_at")?,
            app_id: f.opt_string("app_id")?,
            device_id: opt_field(f.opt_string("device_id")?, "device_id", DeviceId::parse)?,
            device_name: opt_field(f.opt_string("device_name")?, "device_name", Name::parse)?,
            reply_to: f.opt_string("reply_to")?,
            payload,
        })
    }
}
