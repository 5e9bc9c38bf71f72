//! Events: facts decided by the aggregator, on `events`.

use crate::avro::{
    self, Fields, ShapeError, millis, opt_string, opt_unsigned, record, record_with, string,
    unsigned,
};
use crate::ids::{FeedUrl, ItemId, UserId};
use crate::values::{Privacy, Scope};
use apache_avro::types::Value;
use chrono::{DateTime, Utc};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventEnvelope {
    pub event_id: Uuid,
    pub command_id: Uuid,
    pub user_id: UserId,
    pub sequence: u64,
    pub occurred_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
    pub app_id: Option<String>,
    pub device_id: Option<String>,
    pub device_name: Option<String>,
    pub payload: EventPayload,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventPayload {
    Subscribed {
        feed: FeedUrl,
        source_id: Option<String>,
        subscribed_at: DateTime<Utc>,
    },
    Unsubscribed {
        feed: FeedUrl,
        unsubscribed_at: DateTime<Utc>,
    },
    PlayRecorded {
        feed: FeedUrl,
        item: ItemId,
        position: u64,
        duration: Option<u64>,
        played: bool,
    },
    PositionUpdated {
        feed: FeedUrl,
        item: ItemId,
        position: u64,
    },
    EpisodeSaved {
        feed: FeedUrl,
        item: ItemId,
    },
    EpisodeUnsaved {
        feed: FeedUrl,
        item: ItemId,
    },
    EpisodeShared {
        feed: FeedUrl,
        item: ItemId,
    },
    PrivacyChanged {
        scope: Scope,
        privacy: Privacy,
    },
    EventsRemoved {
        scope: Scope,
    },
    PlaylistCreated {
        playlist_id: String,
        name: String,
        description: Option<String>,
        public: bool,
    },
    PlaylistUpdated {
        playlist_id: String,
        name: String,
        description: Option<String>,
    },
    PlaylistVisibilityChanged {
        playlist_id: String,
        public: bool,
    },
    PlaylistDeleted {
        playlist_id: String,
    },
    PlaylistItemAdded {
        playlist_id: String,
        feed: FeedUrl,
        item: ItemId,
    },
    PlaylistItemRemoved {
        playlist_id: String,
        item: ItemId,
    },
    PlaylistReordered {
        playlist_id: String,
        items: Vec<ItemId>,
    },
    CollectionCreated {
        collection_id: String,
        title: String,
        is_default: bool,
        public: bool,
    },
    CollectionUpdated {
        collection_id: String,
        title: String,
    },
    CollectionVisibilityChanged {
        collection_id: String,
        public: bool,
    },
    CollectionDeleted {
        collection_id: String,
    },
    CollectionFeedAdded {
        collection_id: String,
        feed: FeedUrl,
    },
    CollectionFeedRemoved {
        collection_id: String,
        feed: FeedUrl,
    },
    CollectionFeedMoved {
        collection_id: String,
        feed: FeedUrl,
        position: u32,
    },
    DeviceUpserted {
        device_id: String,
        caption: Option<String>,
        kind: Option<String>,
    },
}

impl EventPayload {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Subscribed { .. } => "subscribed",
            Self::Unsubscribed { .. } => "unsubscribed",
            Self::PlayRecorded { .. } => "play_recorded",
            Self::PositionUpdated { .. } => "position_updated",
            Self::EpisodeSaved { .. } => "episode_saved",
            Self::EpisodeUnsaved { .. } => "episode_unsaved",
            Self::EpisodeShared { .. } => "episode_shared",
            Self::PrivacyChanged { .. } => "privacy_changed",
            Self::EventsRemoved { .. } => "events_removed",
            Self::PlaylistCreated { .. } => "playlist_created",
            Self::PlaylistUpdated { .. } => "playlist_updated",
            Self::PlaylistVisibilityChanged { .. } => "playlist_visibility_changed",
            Self::PlaylistDeleted { .. } => "playlist_deleted",
            Self::PlaylistItemAdded { .. } => "playlist_item_added",
            Self::PlaylistItemRemoved { .. } => "playlist_item_removed",
            Self::PlaylistReordered { .. } => "playlist_reordered",
            Self::CollectionCreated { .. } => "collection_created",
            Self::CollectionUpdated { .. } => "collection_updated",
            Self::CollectionVisibilityChanged { .. } => "collection_visibility_changed",
            Self::CollectionDeleted { .. } => "collection_deleted",
            Self::CollectionFeedAdded { .. } => "collection_feed_added",
            Self::CollectionFeedRemoved { .. } => "collection_feed_removed",
            Self::CollectionFeedMoved { .. } => "collection_feed_moved",
            Self::DeviceUpserted { .. } => "device_upserted",
        }
    }

    /// The union branch (its index in `event.avsc`) and its record.
    fn to_avro(&self) -> (u32, Value) {
        use avro::{feed as f, item as i, scope as s};
        let id = |name: &'static str, v: &str| (name, string(v));
        match self {
            Self::Subscribed {
                feed,
                source_id,
                subscribed_at,
            } => (
                0,
                record(vec![
                    f(feed),
                    ("source_id", opt_string(source_id.as_deref())),
                    ("subscribed_at", millis(*subscribed_at)),
                ]),
            ),
            Self::Unsubscribed {
                feed,
                unsubscribed_at,
            } => (
                1,
                record(vec![f(feed), ("unsubscribed_at", millis(*unsubscribed_at))]),
            ),
            Self::PlayRecorded {
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
                        ("position", unsigned(*position)),
                        ("duration", opt_unsigned(*duration)),
                        ("played", Value::Boolean(*played)),
                    ],
                ),
            ),
            Self::PositionUpdated {
                feed,
                item,
                position,
            } => (
                3,
                record_with(i(item), vec![f(feed), ("position", unsigned(*position))]),
            ),
            Self::EpisodeSaved { feed, item } => (4, record_with(i(item), vec![f(feed)])),
            Self::EpisodeUnsaved { feed, item } => (5, record_with(i(item), vec![f(feed)])),
            Self::EpisodeShared { feed, item } => (6, record_with(i(item), vec![f(feed)])),
            Self::PrivacyChanged { scope, privacy } => (
                7,
                record_with(s(scope), vec![("privacy", string(privacy.as_str()))]),
            ),
            Self::EventsRemoved { scope } => (8, record_with(s(scope), vec![])),
            Self::PlaylistCreated {
                playlist_id,
                name,
                description,
                public,
            } => (
                9,
                record(vec![
                    id("playlist_id", playlist_id),
                    ("name", string(name)),
                    ("description", opt_string(description.as_deref())),
                    ("public", Value::Boolean(*public)),
                ]),
            ),
            Self::PlaylistUpdated {
                playlist_id,
                name,
                description,
            } => (
                10,
                record(vec![
                    id("playlist_id", playlist_id),
                    ("name", string(name)),
                    ("description", opt_string(description.as_deref())),
                ]),
            ),
            Self::PlaylistVisibilityChanged {
                playlist_id,
                public,
            } => (
                11,
                record(vec![
                    id("playlist_id", playlist_id),
                    ("public", Value::Boolean(*public)),
                ]),
            ),
            Self::PlaylistDeleted { playlist_id } => {
                (12, record(vec![id("playlist_id", playlist_id)]))
            }
            Self::PlaylistItemAdded {
                playlist_id,
                feed,
                item,
            } => (
                13,
                record_with(i(item), vec![id("playlist_id", playlist_id), f(feed)]),
            ),
            Self::PlaylistItemRemoved { playlist_id, item } => (
                14,
                record_with(i(item), vec![id("playlist_id", playlist_id)]),
            ),
            Self::PlaylistReordered { playlist_id, items } => (
                15,
                record(vec![
                    id("playlist_id", playlist_id),
                    (
                        "items",
                        Value::Array(items.iter().map(|it| record_with(i(it), vec![])).collect()),
                    ),
                ]),
            ),
            Self::CollectionCreated {
                collection_id,
                title,
                is_default,
                public,
            } => (
                16,
                record(vec![
                    id("collection_id", collection_id),
                    ("title", string(title)),
                    ("is_default", Value::Boolean(*is_default)),
                    ("public", Value::Boolean(*public)),
                ]),
            ),
            Self::CollectionUpdated {
                collection_id,
                title,
            } => (
                17,
                record(vec![
                    id("collection_id", collection_id),
                    ("title", string(title)),
                ]),
            ),
            Self::CollectionVisibilityChanged {
                collection_id,
                public,
            } => (
                18,
                record(vec![
                    id("collection_id", collection_id),
                    ("public", Value::Boolean(*public)),
                ]),
            ),
            Self::CollectionDeleted { collection_id } => {
                (19, record(vec![id("collection_id", collection_id)]))
            }
            Self::CollectionFeedAdded {
                collection_id,
                feed,
            } => (
                20,
                record(vec![id("collection_id", collection_id), f(feed)]),
            ),
            Self::CollectionFeedRemoved {
                collection_id,
                feed,
            } => (
                21,
                record(vec![id("collection_id", collection_id), f(feed)]),
            ),
            Self::CollectionFeedMoved {
                collection_id,
                feed,
                position,
            } => (
                22,
                record(vec![
                    id("collection_id", collection_id),
                    f(feed),
                    ("position", Value::Long((*position).into())),
                ]),
            ),
            Self::DeviceUpserted {
                device_id,
                caption,
                kind,
            } => (
                23,
                record(vec![
                    id("device_id", device_id),
                    ("caption", opt_string(caption.as_deref())),
                    ("kind", opt_string(kind.as_deref())),
                ]),
            ),
        }
    }

    fn from_avro(branch: u32, value: Value) -> Result<Self, ShapeError> {
        let mut p = Fields::of(value)?;
        let privacy = |raw: String| {
            Privacy::parse(&raw).ok_or_else(|| ShapeError(format!("unknown privacy {raw:?}")))
        };
        Ok(match branch {
            0 => Self::Subscribed {
                feed: p.feed()?,
                source_id: p.opt_string("source_id")?,
                subscribed_at: p.millis("subscribed_at")?,
            },
            1 => Self::Unsubscribed {
                feed: p.feed()?,
                unsubscribed_at: p.millis("unsubscribed_at")?,
            },
            2 => Self::PlayRecorded {
                feed: p.feed()?,
                item: p.item()?,
                position: p.unsigned("position")?,
                duration: p.opt_unsigned("duration")?,
                played: p.boolean("played")?,
            },
            3 => Self::PositionUpdated {
                feed: p.feed()?,
                item: p.item()?,
                position: p.unsigned("position")?,
            },
            4 => Self::EpisodeSaved {
                feed: p.feed()?,
                item: p.item()?,
            },
            5 => Self::EpisodeUnsaved {
                feed: p.feed()?,
                item: p.item()?,
            },
            6 => Self::EpisodeShared {
                feed: p.feed()?,
                item: p.item()?,
            },
            7 => Self::PrivacyChanged {
                scope: p.scope()?,
                privacy: privacy(p.string("privacy")?)?,
            },
            8 => Self::EventsRemoved { scope: p.scope()? },
            9 => Self::PlaylistCreated {
                playlist_id: p.string("playlist_id")?,
                name: p.string("name")?,
                description: p.opt_string("description")?,
                public: p.boolean("public")?,
            },
            10 => Self::PlaylistUpdated {
                playlist_id: p.string("playlist_id")?,
                name: p.string("name")?,
                description: p.opt_string("description")?,
            },
            11 => Self::PlaylistVisibilityChanged {
                playlist_id: p.string("playlist_id")?,
                public: p.boolean("public")?,
            },
            12 => Self::PlaylistDeleted {
                playlist_id: p.string("playlist_id")?,
            },
            13 => Self::PlaylistItemAdded {
                playlist_id: p.string("playlist_id")?,
                feed: p.feed()?,
                item: p.item()?,
            },
            14 => Self::PlaylistItemRemoved {
                playlist_id: p.string("playlist_id")?,
                item: p.item()?,
            },
            15 => Self::PlaylistReordered {
                playlist_id: p.string("playlist_id")?,
                items: p
                    .array("items")?
                    .into_iter()
                    .map(|v| Fields::of(v)?.item())
                    .collect::<Result<_, _>>()?,
            },
            16 => Self::CollectionCreated {
                collection_id: p.string("collection_id")?,
                title: p.string("title")?,
                is_default: p.boolean("is_default")?,
                public: p.boolean("public")?,
            },
            17 => Self::CollectionUpdated {
                collection_id: p.string("collection_id")?,
                title: p.string("title")?,
            },
            18 => Self::CollectionVisibilityChanged {
                collection_id: p.string("collection_id")?,
                public: p.boolean("public")?,
            },
            19 => Self::CollectionDeleted {
                collection_id: p.string("collection_id")?,
            },
            20 => Self::CollectionFeedAdded {
                collection_id: p.string("collection_id")?,
                feed: p.feed()?,
            },
            21 => Self::CollectionFeedRemoved {
                collection_id: p.string("collection_id")?,
                feed: p.feed()?,
            },
            22 => Self::CollectionFeedMoved {
                collection_id: p.string("collection_id")?,
                feed: p.feed()?,
                position: u32::try_from(p.long("position")?)
                    .map_err(|_| ShapeError("position: out of range".into()))?,
            },
            23 => Self::DeviceUpserted {
                device_id: p.string("device_id")?,
                caption: p.opt_string("caption")?,
                kind: p.opt_string("kind")?,
            },
            other => return Err(ShapeError(format!("unknown event branch {other}"))),
        })
    }
}

/// Namespace of event ids: `event_id = uuid_v5(NS, command_id ‖ index)`, so that reprocessing a
/// command yields the same ids.
const EVENT_ID_NAMESPACE: Uuid = Uuid::from_u128(0x6c1f_0e55_2b7a_4d0e_9b63_5a1d_bb0c_7e21);

pub fn event_id(command_id: Uuid, index: u32) -> Uuid {
    let mut name = command_id.as_bytes().to_vec();
    name.extend_from_slice(&index.to_be_bytes());
    Uuid::new_v5(&EVENT_ID_NAMESPACE, &name)
}

impl EventEnvelope {
    pub fn to_avro(&self) -> Value {
        let (branch, payload) = self.payload.to_avro();
        let payload = Value::Union(branch, Box::new(payload));
        record(vec![
            ("event_id", Value::Uuid(self.event_id)),
            ("command_id", Value::Uuid(self.command_id)),
            ("user_id", Value::String(self.user_id.as_str().to_owned())),
            ("sequence", unsigned(self.sequence)),
            ("occurred_at", millis(self.occurred_at)),
            ("recorded_at", millis(self.recorded_at)),
            ("app_id", opt_string(self.app_id.as_deref())),
            ("device_id", opt_string(self.device_id.as_deref())),
            ("device_name", opt_string(self.device_name.as_deref())),
            ("payload", payload),
        ])
    }

    pub fn from_avro(value: Value) -> Result<Self, ShapeError> {
        let mut f = Fields::of(value)?;
        let (branch, payload) = f.union("payload")?;
        let payload = EventPayload::from_avro(branch, payload)?;
        let user = f.string("user_id")?;
        Ok(Self {
            event_id: f.uuid("event_id")?,
            command_id: f.uuid("command_id")?,
            user_id: UserId::parse(&user).map_err(|e| ShapeError(format!("user_id: {e}")))?,
            sequence: f.unsigned("sequence")?,
            occurred_at: f.millis("occurred_at")?,
            recorded_at: f.millis("recorded_at")?,
            app_id: f.opt_string("app_id")?,
            device_id: f.opt_string("device_id")?,
            device_name: f.opt_string("device_name")?,
            payload,
        })
    }
}
