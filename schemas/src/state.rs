//! User-state records: one record per entity of a user on the compacted `user-state` topic.

use crate::avro::{Fields, ShapeError, opt_string, record};
use crate::declare::{avro_record, avro_union};
use crate::ids::{FeedUrl, ItemId, UserId};
use crate::mapping::AvroField;
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

avro_record! {
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct UserStateRecord {
        pub user_id: UserId,
        /// Offset in `commands` of the command that wrote this record.
        pub source_offset: i64,
        pub entity: StateEntity,
    }
}

avro_union! {
    /// The branches of `entity` in `user-state.avsc`.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum StateEntity {
        0 Meta as UserMeta "meta" {
            sequence: u64,
            recent_commands: Vec<RecentCommand>,
            /// Where the user's last event is in their partition of `events`.
            events_offset: Option<i64>,
            /// The sync position of the user's last event.
            sync_position: i64,
            /// The account is deleted: every other record of the user is a tombstone, and the
            /// aggregate refuses the user's every later command. Kept rather than tombstoned, so
            /// that the user id is never taken up again by a command still on its way.
            deleted: bool,
        }
        1 Subscription as SubscriptionState "subscription" {
            feed: FeedUrl,
            source_id: Option<String>,
            subscribed_at: Option<DateTime<Utc>>,
            unsubscribed_at: Option<DateTime<Utc>>,
            /// The sync position of the event that last changed it.
            sync_position: i64,
        }
        2 Episode as EpisodeState "episode" {
            feed: FeedUrl,
            item: ItemId,
            /// When the play status last changed; `None` when never played (only saved).
            updated_at: Option<DateTime<Utc>>,
            position: u64,
            duration: Option<u64>,
            played: bool,
            saved_at: Option<DateTime<Utc>>,
            /// The sync position of the event that last changed it.
            sync_position: i64,
        }
        3 Playlist as PlaylistState "playlist" {
            playlist_id: String,
            name: String,
            description: Option<String>,
            public: bool,
            items: Vec<PlaylistItemState>,
            /// When it was created or its name, description or visibility last changed; `None`
            /// when written by an older version.
            changed_at: Option<DateTime<Utc>>,
            /// A deleted playlist kept for the merge of a bulk sync: when it was deleted (its
            /// items are then empty, and it has no row in the read models).
            deleted_at: Option<DateTime<Utc>>,
            removed_items: Vec<RemovedPlaylistItemState>,
            /// Whether `removed_items` holds every removal after `removals_kept_after` (every
            /// one when `None`); `false` when written by an older version, which kept none.
            removals_kept: bool,
            removals_kept_after: Option<DateTime<Utc>>,
        }
        4 Collection as CollectionState "collection" {
            collection_id: String,
            title: String,
            is_default: bool,
            public: bool,
            feeds: Vec<FeedUrl>,
        }
        5 Privacy as PrivacySetting "privacy" { scope: Scope, privacy: Privacy }
        6 Device as DeviceState "device" {
            device_id: String,
            caption: Option<String>,
            kind: Option<String>,
        }
    }
}

avro_record! {
    /// An episode of a playlist and when it was added (`None` when written by an older version).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct PlaylistItemState {
        pub feed: FeedUrl,
        pub item: ItemId,
        pub added_at: Option<DateTime<Utc>>,
    }
}

avro_record! {
    /// An episode removed from a playlist, and when.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct RemovedPlaylistItemState {
        pub item: ItemId,
        pub removed_at: DateTime<Utc>,
    }
}

/// Declares a record as an array item of its parent (its value is the record itself).
macro_rules! array_item {
    ($($record:ident),+) => {$(
        impl AvroField for $record {
            fn to_value(&self) -> Value {
                self.to_avro()
            }

            fn from_value(value: Value, _: &str) -> Result<Self, ShapeError> {
                Self::from_avro(value)
            }
        }
    )+};
}

array_item!(PlaylistItemState, RemovedPlaylistItemState);

/// A processed command remembered for idempotency, with its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecentCommand {
    pub command_id: Uuid,
    pub rejection_code: Option<String>,
    pub first_sequence: u64,
    pub event_count: u32,
}

/// Written by hand: its `event_count` is an Avro `int`, where other `u32`s are longs.
impl AvroField for RecentCommand {
    fn to_value(&self) -> Value {
        record(vec![
            ("command_id", self.command_id.to_value()),
            ("rejection_code", opt_string(self.rejection_code.as_deref())),
            ("first_sequence", self.first_sequence.to_value()),
            (
                "event_count",
                Value::Int(i32::try_from(self.event_count).unwrap_or(i32::MAX)),
            ),
        ])
    }

    fn from_value(value: Value, _: &str) -> Result<Self, ShapeError> {
        let mut c = Fields::of(value)?;
        Ok(Self {
            command_id: c.get("command_id")?,
            rejection_code: c.get("rejection_code")?,
            first_sequence: c.get("first_sequence")?,
            event_count: u32::try_from(c.int("event_count")?)
                .map_err(|_| ShapeError("event_count: negative".into()))?,
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

    /// The declaring test checks a union's branches, not the records nested in them.
    #[test]
    fn the_playlist_item_records_are_declared_as_the_avsc_lays_them_out() {
        let avsc: serde_json::Value =
            serde_json::from_str(include_str!("../avro/user-state.avsc")).expect("json");
        let fields_of = |name: &str| -> Vec<String> {
            fn find<'v>(v: &'v serde_json::Value, name: &str) -> Option<&'v serde_json::Value> {
                if v.get("name").and_then(|n| n.as_str()) == Some(name) && v.get("fields").is_some()
                {
                    return Some(v);
                }
                match v {
                    serde_json::Value::Array(a) => a.iter().find_map(|x| find(x, name)),
                    serde_json::Value::Object(o) => o.values().find_map(|x| find(x, name)),
                    _ => None,
                }
            }
            let record = find(&avsc, name).unwrap_or_else(|| panic!("{name} in the .avsc"));
            (record["fields"].as_array().expect("fields").iter())
                .map(|f| f["name"].as_str().expect("name").to_owned())
                .collect()
        };
        assert_eq!(
            fields_of("PlaylistItemState"),
            PlaylistItemState::avro_fields()
        );
        assert_eq!(
            fields_of("RemovedPlaylistItemState"),
            RemovedPlaylistItemState::avro_fields()
        );
    }
}
