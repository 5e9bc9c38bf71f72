//! Commands: what a user asks for, as produced by the ingest API to `commands`. Decoding a command
//! applies the ingest's bounds again (see [`crate::fields`]).

use crate::declare::{avro_record, avro_union};
use crate::fields::{Description, DeviceId, DeviceKind, LocalId, Name, Seconds, SourceId};
use crate::ids::{FeedUrl, ItemId, UserId};
use crate::sync::{SyncPlay, SyncPlaylist, SyncSubscription};
use crate::values::{EpisodeAction, Privacy, Scope};
use chrono::{DateTime, Utc};
use uuid::Uuid;

avro_record! {
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
}

avro_union! {
    /// The branches of `payload` in `command.avsc`.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum CommandPayload {
        0 Subscribe "subscribe" { feed: FeedUrl, source_id: Option<SourceId> }
        1 Unsubscribe "unsubscribe" { feed: FeedUrl }
        2 RecordPlay "record_play" {
            feed: FeedUrl,
            item: ItemId,
            /// Within the duration: the aggregator's rule (it may come from the state).
            position: Seconds,
            duration: Option<Seconds>,
            played: bool,
        }
        3 UpdatePosition "update_position" { item: ItemId, position: Seconds }
        4 SaveEpisode "save_episode" { feed: FeedUrl, item: ItemId }
        5 UnsaveEpisode "unsave_episode" { item: ItemId }
        6 ShareEpisode "share_episode" { feed: FeedUrl, item: ItemId }
        7 ChangePrivacy "change_privacy" { scope: Scope, privacy: Privacy }
        8 RemoveEvents "remove_events" { scope: Scope }
        9 CreatePlaylist "create_playlist" {
            playlist_id: LocalId,
            name: Name,
            description: Option<Description>,
            public: bool,
        }
        10 UpdatePlaylist "update_playlist" {
            playlist_id: LocalId,
            name: Option<Name>,
            /// An empty description removes it.
            description: Option<Description>,
            public: Option<bool>,
        }
        11 DeletePlaylist "delete_playlist" { playlist_id: LocalId }
        12 AddPlaylistItem "add_playlist_item" { playlist_id: LocalId, feed: FeedUrl, item: ItemId }
        13 RemovePlaylistItem "remove_playlist_item" { playlist_id: LocalId, item: ItemId }
        14 ReorderPlaylist "reorder_playlist" { playlist_id: LocalId, items: Vec<ItemId> }
        15 CreateCollection "create_collection" { collection_id: LocalId, title: Name, public: bool }
        16 UpdateCollection "update_collection" {
            collection_id: LocalId,
            title: Option<Name>,
            public: Option<bool>,
        }
        17 DeleteCollection "delete_collection" { collection_id: LocalId }
        18 AddCollectionFeed "add_collection_feed" { collection_id: LocalId, feed: FeedUrl }
        19 RemoveCollectionFeed "remove_collection_feed" { collection_id: LocalId, feed: FeedUrl }
        20 MoveCollectionFeed "move_collection_feed" {
            collection_id: LocalId,
            feed: FeedUrl,
            position: i64,
        }
        21 UpsertDevice "upsert_device" {
            device_id: DeviceId,
            caption: Option<Name>,
            kind: Option<DeviceKind>,
        }
        /// Everything of the user goes; the same user id may start again from nothing.
        22 DeleteAccount "delete_account" {}
        /// A gpodder-style episode action. `item` is the episode as the client reported it: its
        /// GUID, or the media URL again when the client gave none; the aggregate finds the
        /// episode the user already has under that GUID or URL.
        23 RecordEpisodeAction "record_episode_action" {
            feed: FeedUrl,
            item: ItemId,
            action: EpisodeAction,
            started: Option<Seconds>,
            position: Option<Seconds>,
            total: Option<Seconds>,
        }
        /// A client's bulk sync (`POST /api/v1/sync`): its subscriptions, play statuses and
        /// playlists with their own times, merged by the aggregate into ordinary events.
        /// `last_sync` is when the client last synced (server time, Unix seconds; none on a first
        /// sync).
        24 Sync "sync" {
            last_sync: Option<i64>,
            subscriptions: Vec<SyncSubscription>,
            plays: Vec<SyncPlay>,
            playlists: Vec<SyncPlaylist>,
        }
        /// A listen began where the client reports no position (the play gateway): the play
        /// status is recorded again as it stands, or from the start for an episode not played
        /// yet; it counts as a play.
        25 StartPlay "start_play" { feed: FeedUrl, item: ItemId }
    }
}
