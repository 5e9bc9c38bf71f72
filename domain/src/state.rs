//! The state of one user and how events change it.

use balados_schemas::{FeedUrl, ItemId, Privacy, RecentCommand, Scope};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap, VecDeque};

mod playlists;

pub use playlists::{
    DeletedPlaylist, KeptRemovals, MAX_DELETED_PLAYLISTS, MAX_REMOVED_BYTES, MAX_REMOVED_ITEMS,
    Playlist, PlaylistItem, item_bytes,
};

/// How many processed command ids a user remembers for idempotent retries. Every command rewrites
/// the meta record that holds them, so this bounds its size (~40 bytes each).
pub const RECENT_COMMANDS: usize = 32;

/// The aggregate. Maps that `decide` iterates are ordered (`BTreeMap`), so that the events it
/// derives from them come out in the same order on every replay.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserState {
    /// Sequence of the last event (0 before any).
    pub sequence: u64,
    /// Sync position of the last event (0 before any): Unix-seconds-like, unique and increasing.
    pub sync_position: i64,
    pub recent: VecDeque<RecentCommand>,
    pub subscriptions: HashMap<FeedUrl, Subscription>,
    pub episodes: HashMap<ItemId, Episode>,
    pub playlists: BTreeMap<String, Playlist>,
    /// The latest deletions of playlists ([`MAX_DELETED_PLAYLISTS`]), for the merge of a sync.
    pub deleted_playlists: BTreeMap<String, DeletedPlaylist>,
    pub collections: BTreeMap<String, Collection>,
    pub privacy: HashMap<Scope, Privacy>,
    pub devices: BTreeMap<String, Device>,
    /// Where the user's last event landed in their partition of `events`: bookkeeping of the
    /// store (restore checks it), never read by `decide`.
    pub events_offset: Option<i64>,
    /// The account is deleted: nothing else is left but the sequence where the user's stream
    /// ended, and every later command is refused (a repeated deletion aside), so that a command
    /// still on its way cannot bring the id back to life.
    pub deleted: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subscription {
    pub source_id: Option<String>,
    pub subscribed_at: Option<DateTime<Utc>>,
    pub unsubscribed_at: Option<DateTime<Utc>>,
    /// Sync position of the event that last changed it.
    pub sync_position: i64,
}

impl Subscription {
    /// Active when subscribed and not unsubscribed since (a tie keeps it subscribed).
    pub fn is_active(&self) -> bool {
        match (self.subscribed_at, self.unsubscribed_at) {
            (Some(_), None) => true,
            (Some(s), Some(u)) => s >= u,
            (None, _) => false,
        }
    }
}

/// The user's relation to one episode: its play status and whether it is saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Episode {
    pub feed: FeedUrl,
    /// When the play status last changed; `None` while the episode was only saved.
    pub updated_at: Option<DateTime<Utc>>,
    pub position: u64,
    pub duration: Option<u64>,
    pub played: bool,
    pub saved_at: Option<DateTime<Utc>>,
    /// Sync position of the event that last changed it.
    pub sync_position: i64,
}

impl Episode {
    pub(crate) fn new(feed: FeedUrl) -> Self {
        Self {
            feed,
            updated_at: None,
            position: 0,
            duration: None,
            played: false,
            saved_at: None,
            sync_position: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collection {
    pub title: String,
    pub is_default: bool,
    pub public: bool,
    pub feeds: Vec<FeedUrl>,
}

impl Collection {
    /// The bytes of the URLs it holds: what its state record grows with.
    pub fn bytes(&self) -> usize {
        self.feeds.iter().map(|f| f.as_str().len()).sum()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Device {
    pub caption: Option<String>,
    pub kind: Option<String>,
}

impl UserState {
    pub fn active_subscriptions(&self) -> usize {
        self.subscriptions
            .values()
            .filter(|s| s.is_active())
            .count()
    }

    pub fn is_subscribed(&self, feed: &FeedUrl) -> bool {
        self.subscriptions
            .get(feed)
            .is_some_and(Subscription::is_active)
    }

    pub fn default_collection(&self) -> Option<(&String, &Collection)> {
        self.collections.iter().find(|(_, c)| c.is_default)
    }

    pub fn recent_command(&self, command_id: uuid::Uuid) -> Option<&RecentCommand> {
        self.recent.iter().find(|c| c.command_id == command_id)
    }

    /// Remembers a deleted playlist, forgetting the oldest deletion beyond
    /// [`MAX_DELETED_PLAYLISTS`].
    pub fn remember_deletion(&mut self, playlist_id: String, deleted: DeletedPlaylist) {
        self.deleted_playlists.insert(playlist_id, deleted);
        if self.deleted_playlists.len() > MAX_DELETED_PLAYLISTS {
            let oldest = (self.deleted_playlists.iter())
                .min_by_key(|(id, d)| (d.deleted_at, *id))
                .map(|(id, _)| id.clone());
            if let Some(oldest) = oldest {
                self.deleted_playlists.remove(&oldest);
            }
        }
    }

    /// Remembers a processed command, forgetting the oldest beyond [`RECENT_COMMANDS`].
    pub fn remember(&mut self, command: RecentCommand) {
        if self.recent.len() >= RECENT_COMMANDS {
            self.recent.pop_front();
        }
        self.recent.push_back(command);
    }
}
