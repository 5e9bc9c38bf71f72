//! Events: facts decided by the aggregator, on `events`.

use crate::declare::{avro_record, avro_union};
use crate::ids::{FeedUrl, ItemId, UserId};
use crate::values::{Privacy, Scope};
use chrono::{DateTime, Utc};
use uuid::Uuid;

avro_record! {
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct EventEnvelope {
        pub event_id: Uuid,
        pub command_id: Uuid,
        pub user_id: UserId,
        pub sequence: u64,
        /// Unix-seconds-like, unique and increasing per user (see `event.avsc`).
        pub sync_position: i64,
        pub occurred_at: DateTime<Utc>,
        pub recorded_at: DateTime<Utc>,
        pub app_id: Option<String>,
        pub device_id: Option<String>,
        pub device_name: Option<String>,
        pub payload: EventPayload,
    }
}

avro_union! {
    /// The branches of `payload` in `event.avsc`.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum EventPayload {
        0 Subscribed "subscribed" {
            feed: FeedUrl,
            source_id: Option<String>,
            subscribed_at: DateTime<Utc>,
        }
        1 Unsubscribed "unsubscribed" { feed: FeedUrl, unsubscribed_at: DateTime<Utc> }
        2 PlayRecorded "play_recorded" {
            feed: FeedUrl,
            item: ItemId,
            position: u64,
            duration: Option<u64>,
            played: bool,
        }
        3 PositionUpdated "position_updated" { feed: FeedUrl, item: ItemId, position: u64 }
        4 EpisodeSaved "episode_saved" { feed: FeedUrl, item: ItemId }
        5 EpisodeUnsaved "episode_unsaved" { feed: FeedUrl, item: ItemId }
        6 EpisodeShared "episode_shared" { feed: FeedUrl, item: ItemId }
        7 PrivacyChanged "privacy_changed" { scope: Scope, privacy: Privacy }
        8 EventsRemoved "events_removed" { scope: Scope }
        9 PlaylistCreated "playlist_created" {
            playlist_id: String,
            name: String,
            description: Option<String>,
            public: bool,
        }
        10 PlaylistUpdated "playlist_updated" {
            playlist_id: String,
            name: String,
            description: Option<String>,
        }
        11 PlaylistVisibilityChanged "playlist_visibility_changed" {
            playlist_id: String,
            public: bool,
        }
        12 PlaylistDeleted "playlist_deleted" { playlist_id: String }
        13 PlaylistItemAdded "playlist_item_added" {
            playlist_id: String,
            feed: FeedUrl,
            item: ItemId,
        }
        14 PlaylistItemRemoved "playlist_item_removed" { playlist_id: String, item: ItemId }
        15 PlaylistReordered "playlist_reordered" { playlist_id: String, items: Vec<ItemId> }
        16 CollectionCreated "collection_created" {
            collection_id: String,
            title: String,
            is_default: bool,
            public: bool,
        }
        17 CollectionUpdated "collection_updated" { collection_id: String, title: String }
        18 CollectionVisibilityChanged "collection_visibility_changed" {
            collection_id: String,
            public: bool,
        }
        19 CollectionDeleted "collection_deleted" { collection_id: String }
        20 CollectionFeedAdded "collection_feed_added" { collection_id: String, feed: FeedUrl }
        21 CollectionFeedRemoved "collection_feed_removed" { collection_id: String, feed: FeedUrl }
        22 CollectionFeedMoved "collection_feed_moved" {
            collection_id: String,
            feed: FeedUrl,
            position: u32,
        }
        23 DeviceUpserted "device_upserted" {
            device_id: String,
            caption: Option<String>,
            kind: Option<String>,
        }
        /// The user's state is gone; their next event, if any, has sequence 1.
        24 AccountDeleted "account_deleted" {}
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
