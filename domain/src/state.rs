//! The state of one user and how events change it.

use balados_schemas::{
    EventEnvelope, EventPayload, FeedUrl, ItemId, Privacy, RecentCommand, Scope,
};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap, VecDeque};

/// How many processed command ids a user remembers for idempotent retries. Every command rewrites
/// the meta record that holds them, so this bounds its size (~40 bytes each).
pub const RECENT_COMMANDS: usize = 32;

/// The aggregate. Maps that `decide` iterates are ordered (`BTreeMap`), so that the events it
/// derives from them come out in the same order on every replay.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserState {
    /// Sequence of the last event (0 before any).
    pub sequence: u64,
    pub recent: VecDeque<RecentCommand>,
    pub subscriptions: HashMap<FeedUrl, Subscription>,
    pub episodes: HashMap<ItemId, Episode>,
    pub playlists: BTreeMap<String, Playlist>,
    pub collections: BTreeMap<String, Collection>,
    pub privacy: HashMap<Scope, Privacy>,
    pub devices: BTreeMap<String, Device>,
    /// Where the user's last event landed in their partition of `events`: bookkeeping of the
    /// store (restore checks it), never read by `decide`.
    pub events_offset: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subscription {
    pub source_id: Option<String>,
    pub subscribed_at: Option<DateTime<Utc>>,
    pub unsubscribed_at: Option<DateTime<Utc>>,
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
}

impl Episode {
    fn new(feed: FeedUrl) -> Self {
        Self {
            feed,
            updated_at: None,
            position: 0,
            duration: None,
            played: false,
            saved_at: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Playlist {
    pub name: String,
    pub description: Option<String>,
    pub public: bool,
    pub items: Vec<(FeedUrl, ItemId)>,
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

impl Playlist {
    /// The bytes of the URLs and GUIDs it holds: what its state record grows with.
    pub fn bytes(&self) -> usize {
        self.items.iter().map(|(f, i)| item_bytes(f, i)).sum()
    }
}

/// What one playlist item adds to its playlist's record.
pub fn item_bytes(feed: &FeedUrl, item: &ItemId) -> usize {
    feed.as_str().len() + item.guid().len() + item.enclosure_url().len()
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

    /// Remembers a processed command, forgetting the oldest beyond [`RECENT_COMMANDS`].
    pub fn remember(&mut self, command: RecentCommand) {
        if self.recent.len() >= RECENT_COMMANDS {
            self.recent.pop_front();
        }
        self.recent.push_back(command);
    }
}

/// Applies one event. Events are applied in sequence order; the sequence is taken from the event.
pub fn evolve(mut state: UserState, event: &EventEnvelope) -> UserState {
    state.sequence = event.sequence;
    let at = event.occurred_at;
    match &event.payload {
        EventPayload::Subscribed {
            feed,
            source_id,
            subscribed_at,
        } => {
            let sub = state.subscriptions.entry(feed.clone()).or_default();
            sub.subscribed_at = Some(*subscribed_at);
            sub.source_id.clone_from(source_id);
        }
        EventPayload::Unsubscribed {
            feed,
            unsubscribed_at,
        } => {
            let sub = state.subscriptions.entry(feed.clone()).or_default();
            sub.unsubscribed_at = Some(*unsubscribed_at);
        }
        EventPayload::PlayRecorded {
            feed,
            item,
            position,
            duration,
            played,
        } => {
            let episode = episode(&mut state, feed, item);
            episode.feed = feed.clone();
            episode.updated_at = Some(at);
            episode.position = *position;
            episode.duration = *duration;
            episode.played = *played;
        }
        EventPayload::PositionUpdated {
            feed,
            item,
            position,
        } => {
            let episode = episode(&mut state, feed, item);
            episode.updated_at = Some(at);
            episode.position = *position;
        }
        EventPayload::EpisodeSaved { feed, item } => {
            episode(&mut state, feed, item).saved_at = Some(at);
        }
        EventPayload::EpisodeUnsaved { item, .. } => {
            let forget = state.episodes.get_mut(item).is_some_and(|e| {
                e.saved_at = None;
                e.updated_at.is_none()
            });
            if forget {
                state.episodes.remove(item);
            }
        }
        EventPayload::EpisodeShared { .. } | EventPayload::EventsRemoved { .. } => {}
        EventPayload::PrivacyChanged { scope, privacy } => {
            state.privacy.insert(scope.clone(), *privacy);
        }
        EventPayload::PlaylistCreated {
            playlist_id,
            name,
            description,
            public,
        } => {
            state.playlists.insert(
                playlist_id.clone(),
                Playlist {
                    name: name.clone(),
                    description: description.clone(),
                    public: *public,
                    items: Vec::new(),
                },
            );
        }
        EventPayload::PlaylistUpdated {
            playlist_id,
            name,
            description,
        } => {
            if let Some(p) = state.playlists.get_mut(playlist_id) {
                p.name.clone_from(name);
                p.description.clone_from(description);
            }
        }
        EventPayload::PlaylistVisibilityChanged {
            playlist_id,
            public,
        } => {
            if let Some(p) = state.playlists.get_mut(playlist_id) {
                p.public = *public;
            }
        }
        EventPayload::PlaylistDeleted { playlist_id } => {
            state.playlists.remove(playlist_id);
        }
        EventPayload::PlaylistItemAdded {
            playlist_id,
            feed,
            item,
        } => {
            if let Some(p) = state.playlists.get_mut(playlist_id) {
                p.items.push((feed.clone(), item.clone()));
            }
        }
        EventPayload::PlaylistItemRemoved { playlist_id, item } => {
            if let Some(p) = state.playlists.get_mut(playlist_id) {
                p.items.retain(|(_, i)| i != item);
            }
        }
        EventPayload::PlaylistReordered { playlist_id, items } => {
            if let Some(p) = state.playlists.get_mut(playlist_id) {
                let mut by_item: HashMap<&ItemId, FeedUrl> =
                    p.items.iter().map(|(f, i)| (i, f.clone())).collect();
                let reordered = items
                    .iter()
                    .filter_map(|i| by_item.remove(i).map(|f| (f, i.clone())))
                    .collect();
                p.items = reordered;
            }
        }
        EventPayload::CollectionCreated {
            collection_id,
            title,
            is_default,
            public,
        } => {
            state.collections.insert(
                collection_id.clone(),
                Collection {
                    title: title.clone(),
                    is_default: *is_default,
                    public: *public,
                    feeds: Vec::new(),
                },
            );
        }
        EventPayload::CollectionUpdated {
            collection_id,
            title,
        } => {
            if let Some(c) = state.collections.get_mut(collection_id) {
                c.title.clone_from(title);
            }
        }
        EventPayload::CollectionVisibilityChanged {
            collection_id,
            public,
        } => {
            if let Some(c) = state.collections.get_mut(collection_id) {
                c.public = *public;
            }
        }
        EventPayload::CollectionDeleted { collection_id } => {
            state.collections.remove(collection_id);
        }
        EventPayload::CollectionFeedAdded {
            collection_id,
            feed,
        } => {
            if let Some(c) = state.collections.get_mut(collection_id) {
                c.feeds.push(feed.clone());
            }
        }
        EventPayload::CollectionFeedRemoved {
            collection_id,
            feed,
        } => {
            if let Some(c) = state.collections.get_mut(collection_id) {
                c.feeds.retain(|f| f != feed);
            }
        }
        EventPayload::CollectionFeedMoved {
            collection_id,
            feed,
            position,
        } => {
            if let Some(c) = state.collections.get_mut(collection_id)
                && let Some(from) = c.feeds.iter().position(|f| f == feed)
            {
                let moved = c.feeds.remove(from);
                let to = usize::try_from(*position).map_or(c.feeds.len(), |p| p.min(c.feeds.len()));
                c.feeds.insert(to, moved);
            }
        }
        EventPayload::DeviceUpserted {
            device_id,
            caption,
            kind,
        } => {
            state.devices.insert(
                device_id.clone(),
                Device {
                    caption: caption.clone(),
                    kind: kind.clone(),
                },
            );
        }
    }
    state
}

fn episode<'a>(state: &'a mut UserState, feed: &FeedUrl, item: &ItemId) -> &'a mut Episode {
    state
        .episodes
        .entry(item.clone())
        .or_insert_with(|| Episode::new(feed.clone()))
}
