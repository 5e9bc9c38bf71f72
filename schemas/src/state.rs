//! User-state records: one record per entity of a user on the compacted `user-state` topic.

use crate::avro::{
    self, Fields, ShapeError, opt_long, opt_millis, opt_string, opt_unsigned, record, record_with,
    string, unsigned,
};
use crate::ids::{FeedUrl, ItemId, UserId};
use crate::values::{Privacy, Scope};
use apache_avro::types::Value;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Header of a tombstone on `user-state` carrying the source offset (decimal) of the command that
/// removed the entity: a tombstone has no value to hold it, and restore must ignore removals made
/// by commands that are not committed.
pub const SOURCE_OFFSET_HEADER: &str = "balados-source-offset";

/// The key of one state record: `{user_id}/meta`, `{user_id}/sub/{feed_id}`,
/// `{user_id}/ep/{item_id}`, `{user_id}/playlist/{id}`, `{user_id}/coll/{id}`,
/// `{user_id}/privacy/global|feed/{feed_id}|item/{item_id}` or `{user_id}/device/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StateKey {
    Meta(UserId),
    Subscription(UserId, FeedUrl),
    Episode(UserId, ItemId),
    Playlist(UserId, String),
    Collection(UserId, String),
    Privacy(UserId, Scope),
    Device(UserId, String),
}

impl StateKey {
    pub fn user_id(&self) -> &UserId {
        match self {
            Self::Meta(user)
            | Self::Subscription(user, _)
            | Self::Episode(user, _)
            | Self::Playlist(user, _)
            | Self::Collection(user, _)
            | Self::Privacy(user, _)
            | Self::Device(user, _) => user,
        }
    }

    pub fn encode(&self) -> String {
        match self {
            Self::Meta(user) => format!("{user}/meta"),
            Self::Subscription(user, feed) => format!("{user}/sub/{}", feed.id()),
            Self::Episode(user, item) => format!("{user}/ep/{}", item.id()),
            Self::Playlist(user, id) => format!("{user}/playlist/{id}"),
            Self::Collection(user, id) => format!("{user}/coll/{id}"),
            Self::Privacy(user, Scope::Global) => format!("{user}/privacy/global"),
            Self::Privacy(user, Scope::Feed(feed)) => format!("{user}/privacy/feed/{}", feed.id()),
            Self::Privacy(user, Scope::Item(item)) => format!("{user}/privacy/item/{}", item.id()),
            Self::Device(user, id) => format!("{user}/device/{id}"),
        }
    }

    /// Parses a key; `None` for keys this version does not know (skipped by restore, so that a
    /// newer writer's entities do not stop an older reader).
    pub fn decode(key: &str) -> Option<Self> {
        let (user, rest) = key.split_once('/')?;
        let user = UserId::parse(user).ok()?;
        if rest == "meta" {
            return Some(Self::Meta(user));
        }
        let (kind, id) = rest.split_once('/')?;
        match (kind, id) {
            ("sub", feed_id) => FeedUrl::from_id(feed_id)
                .ok()
                .map(|f| Self::Subscription(user, f)),
            ("ep", item_id) => ItemId::from_id(item_id)
                .ok()
                .map(|i| Self::Episode(user, i)),
            ("playlist", id) if !id.contains('/') => Some(Self::Playlist(user, id.to_owned())),
            ("coll", id) if !id.contains('/') => Some(Self::Collection(user, id.to_owned())),
            ("device", id) if !id.contains('/') => Some(Self::Device(user, id.to_owned())),
            ("privacy", "global") => Some(Self::Privacy(user, Scope::Global)),
            ("privacy", scoped) => match scoped.split_once('/')? {
                ("feed", id) => FeedUrl::from_id(id)
                    .ok()
                    .map(|f| Self::Privacy(user, Scope::Feed(f))),
                ("item", id) => ItemId::from_id(id)
                    .ok()
                    .map(|i| Self::Privacy(user, Scope::Item(i))),
                _ => None,
            },
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserStateRecord {
    pub user_id: UserId,
    /// Offset in `commands` of the command that wrote this record.
    pub source_offset: i64,
    pub entity: StateEntity,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateEntity {
    Meta {
        sequence: u64,
        recent_commands: Vec<RecentCommand>,
        /// Where the user's last event is in their partition of `events`.
        events_offset: Option<i64>,
    },
    Subscription {
        feed: FeedUrl,
        source_id: Option<String>,
        subscribed_at: Option<DateTime<Utc>>,
        unsubscribed_at: Option<DateTime<Utc>>,
    },
    Episode {
        feed: FeedUrl,
        item: ItemId,
        /// When the play status last changed; `None` when never played (only saved).
        updated_at: Option<DateTime<Utc>>,
        position: u64,
        duration: Option<u64>,
        played: bool,
        saved_at: Option<DateTime<Utc>>,
    },
    Playlist {
        playlist_id: String,
        name: String,
        description: Option<String>,
        public: bool,
        items: Vec<(FeedUrl, ItemId)>,
    },
    Collection {
        collection_id: String,
        title: String,
        is_default: bool,
        public: bool,
        feeds: Vec<FeedUrl>,
    },
    Privacy {
        scope: Scope,
        privacy: Privacy,
    },
    Device {
        device_id: String,
        caption: Option<String>,
        kind: Option<String>,
    },
}

/// A processed command remembered for idempotency, with its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecentCommand {
    pub command_id: Uuid,
    pub rejection_code: Option<String>,
    pub first_sequence: u64,
    pub event_count: u32,
}

impl UserStateRecord {
    pub fn to_avro(&self) -> Value {
        let entity = match &self.entity {
            StateEntity::Meta {
                sequence,
                recent_commands,
                events_offset,
            } => {
                let recent = recent_commands
                    .iter()
                    .map(|c| {
                        record(vec![
                            ("command_id", Value::Uuid(c.command_id)),
                            ("rejection_code", opt_string(c.rejection_code.as_deref())),
                            ("first_sequence", unsigned(c.first_sequence)),
                            (
                                "event_count",
                                Value::Int(i32::try_from(c.event_count).unwrap_or(i32::MAX)),
                            ),
                        ])
                    })
                    .collect();
                Value::Union(
                    0,
                    Box::new(record(vec![
                        ("sequence", unsigned(*sequence)),
                        ("recent_commands", Value::Array(recent)),
                        ("events_offset", opt_long(*events_offset)),
                    ])),
                )
            }
            StateEntity::Subscription {
                feed,
                source_id,
                subscribed_at,
                unsubscribed_at,
            } => Value::Union(
                1,
                Box::new(record(vec![
                    ("feed_url", Value::String(feed.as_str().to_owned())),
                    ("source_id", opt_string(source_id.as_deref())),
                    ("subscribed_at", opt_millis(*subscribed_at)),
                    ("unsubscribed_at", opt_millis(*unsubscribed_at)),
                ])),
            ),
            StateEntity::Episode {
                feed,
                item,
                updated_at,
                position,
                duration,
                played,
                saved_at,
            } => Value::Union(
                2,
                Box::new(record_with(
                    avro::item(item),
                    vec![
                        avro::feed(feed),
                        ("updated_at", opt_millis(*updated_at)),
                        ("position", unsigned(*position)),
                        ("duration", opt_unsigned(*duration)),
                        ("played", Value::Boolean(*played)),
                        ("saved_at", opt_millis(*saved_at)),
                    ],
                )),
            ),
            StateEntity::Playlist {
                playlist_id,
                name,
                description,
                public,
                items,
            } => Value::Union(
                3,
                Box::new(record(vec![
                    ("playlist_id", string(playlist_id)),
                    ("name", string(name)),
                    ("description", opt_string(description.as_deref())),
                    ("public", Value::Boolean(*public)),
                    (
                        "items",
                        Value::Array(
                            items
                                .iter()
                                .map(|(f, i)| record_with(avro::item(i), vec![avro::feed(f)]))
                                .collect(),
                        ),
                    ),
                ])),
            ),
            StateEntity::Collection {
                collection_id,
                title,
                is_default,
                public,
                feeds,
            } => Value::Union(
                4,
                Box::new(record(vec![
                    ("collection_id", string(collection_id)),
                    ("title", string(title)),
                    ("is_default", Value::Boolean(*is_default)),
                    ("public", Value::Boolean(*public)),
                    (
                        "feeds",
                        Value::Array(feeds.iter().map(|f| string(f.as_str())).collect()),
                    ),
                ])),
            ),
            StateEntity::Privacy { scope, privacy } => Value::Union(
                5,
                Box::new(record_with(
                    avro::scope(scope),
                    vec![("privacy", string(privacy.as_str()))],
                )),
            ),
            StateEntity::Device {
                device_id,
                caption,
                kind,
            } => Value::Union(
                6,
                Box::new(record(vec![
                    ("device_id", string(device_id)),
                    ("caption", opt_string(caption.as_deref())),
                    ("kind", opt_string(kind.as_deref())),
                ])),
            ),
        };
        record(vec![
            ("user_id", Value::String(self.user_id.as_str().to_owned())),
            ("source_offset", Value::Long(self.source_offset)),
            ("entity", entity),
        ])
    }

    pub fn from_avro(value: Value) -> Result<Self, ShapeError> {
        let mut f = Fields::of(value)?;
        let (branch, entity) = f.union("entity")?;
        let mut e = Fields::of(entity)?;
        let entity = match branch {
            0 => {
                let sequence = e.unsigned("sequence")?;
                let mut recent_commands = Vec::new();
                for item in e.array("recent_commands")? {
                    let mut c = Fields::of(item)?;
                    recent_commands.push(RecentCommand {
                        command_id: c.uuid("command_id")?,
                        rejection_code: c.opt_string("rejection_code")?,
                        first_sequence: c.unsigned("first_sequence")?,
                        event_count: u32::try_from(c.int("event_count")?)
                            .map_err(|_| ShapeError("event_count: negative".into()))?,
                    });
                }
                StateEntity::Meta {
                    sequence,
                    recent_commands,
                    events_offset: e.opt_long("events_offset")?,
                }
            }
            1 => StateEntity::Subscription {
                feed: e.feed()?,
                source_id: e.opt_string("source_id")?,
                subscribed_at: e.opt_millis("subscribed_at")?,
                unsubscribed_at: e.opt_millis("unsubscribed_at")?,
            },
            2 => StateEntity::Episode {
                feed: e.feed()?,
                item: e.item()?,
                updated_at: e.opt_millis("updated_at")?,
                position: e.unsigned("position")?,
                duration: e.opt_unsigned("duration")?,
                played: e.boolean("played")?,
                saved_at: e.opt_millis("saved_at")?,
            },
            3 => StateEntity::Playlist {
                playlist_id: e.string("playlist_id")?,
                name: e.string("name")?,
                description: e.opt_string("description")?,
                public: e.boolean("public")?,
                items: e
                    .array("items")?
                    .into_iter()
                    .map(|v| {
                        let mut i = Fields::of(v)?;
                        Ok((i.feed()?, i.item()?))
                    })
                    .collect::<Result<_, ShapeError>>()?,
            },
            4 => StateEntity::Collection {
                collection_id: e.string("collection_id")?,
                title: e.string("title")?,
                is_default: e.boolean("is_default")?,
                public: e.boolean("public")?,
                feeds: e
                    .array("feeds")?
                    .into_iter()
                    .map(|v| match v {
                        Value::String(raw) => {
                            FeedUrl::parse(&raw).map_err(|err| ShapeError(format!("feeds: {err}")))
                        }
                        other => Err(ShapeError(format!("feeds: expected strings, {other:?}"))),
                    })
                    .collect::<Result<_, _>>()?,
            },
            5 => {
                let scope = e.scope()?;
                let raw = e.string("privacy")?;
                StateEntity::Privacy {
                    scope,
                    privacy: Privacy::parse(&raw)
                        .ok_or_else(|| ShapeError(format!("unknown privacy {raw:?}")))?,
                }
            }
            6 => StateEntity::Device {
                device_id: e.string("device_id")?,
                caption: e.opt_string("caption")?,
                kind: e.opt_string("kind")?,
            },
            other => return Err(ShapeError(format!("unknown entity branch {other}"))),
        };
        let user = f.string("user_id")?;
        Ok(Self {
            user_id: UserId::parse(&user).map_err(|e| ShapeError(format!("user_id: {e}")))?,
            source_offset: f.long("source_offset")?,
            entity,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_keys_round_trip() {
        let user = UserId::parse("u1").expect("valid");
        let feed = FeedUrl::parse("https://example.com/rss").expect("valid");
        let item = ItemId::new("g,1", "https://example.com/a.mp3").expect("valid");
        for key in [
            StateKey::Meta(user.clone()),
            StateKey::Subscription(user.clone(), feed.clone()),
            StateKey::Episode(user.clone(), item.clone()),
            StateKey::Playlist(user.clone(), "p-1".into()),
            StateKey::Collection(user.clone(), "default".into()),
            StateKey::Privacy(user.clone(), Scope::Global),
            StateKey::Privacy(user.clone(), Scope::Feed(feed)),
            StateKey::Privacy(user.clone(), Scope::Item(item)),
            StateKey::Device(user, "phone".into()),
        ] {
            assert_eq!(StateKey::decode(&key.encode()), Some(key));
        }
        assert_eq!(StateKey::decode("u1/unknown-entity/x"), None);
    }
}
