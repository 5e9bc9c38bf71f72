//! Playlists and collections: ordered lists, applied in memory to the stored lists that a batch
//! touches (loaded first), then written back whole. Mirrors the aggregator's `evolve`, so the rows
//! equal the lists in the user's state records.

use balados_schemas::{EventPayload, FeedUrl, ItemId};
use std::collections::{BTreeMap, HashMap};

/// An episode as a playlist row holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListItem {
    pub item_id: String,
    pub feed_id: String,
    pub feed_url: String,
    pub guid: String,
    pub enclosure_url: String,
}

impl ListItem {
    pub fn new(feed: &FeedUrl, item: &ItemId) -> Self {
        Self {
            item_id: item.id(),
            feed_id: feed.id(),
            feed_url: feed.as_str().to_owned(),
            guid: item.guid().to_owned(),
            enclosure_url: item.enclosure_url().to_owned(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaylistRow {
    pub name: String,
    pub description: Option<String>,
    pub public: bool,
    pub items: Vec<ListItem>,
}

/// A feed as a collection row holds it: (feed id, feed url).
pub type ListFeed = (String, String);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionRow {
    pub title: String,
    pub is_default: bool,
    pub public: bool,
    pub feeds: Vec<ListFeed>,
}

/// (user id, playlist or collection id).
pub type ListKey = (String, String);

/// The lists a batch touches, as they end: `None` for a deleted (or never created) list.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Lists {
    pub playlists: BTreeMap<ListKey, Option<PlaylistRow>>,
    pub collections: BTreeMap<ListKey, Option<CollectionRow>>,
}

/// Which list an event touches: `(true, id)` for a playlist, `(false, id)` for a collection.
pub fn touched(payload: &EventPayload) -> Option<(bool, &str)> {
    use EventPayload as E;
    match payload {
        E::PlaylistCreated { playlist_id, .. }
        | E::PlaylistUpdated { playlist_id, .. }
        | E::PlaylistVisibilityChanged { playlist_id, .. }
        | E::PlaylistDeleted { playlist_id }
        | E::PlaylistItemAdded { playlist_id, .. }
        | E::PlaylistItemRemoved { playlist_id, .. }
        | E::PlaylistReordered { playlist_id, .. } => Some((true, playlist_id)),
        E::CollectionCreated { collection_id, .. }
        | E::CollectionUpdated { collection_id, .. }
        | E::CollectionVisibilityChanged { collection_id, .. }
        | E::CollectionDeleted { collection_id }
        | E::CollectionFeedAdded { collection_id, .. }
        | E::CollectionFeedRemoved { collection_id, .. }
        | E::CollectionFeedMoved { collection_id, .. } => Some((false, collection_id)),
        _ => None,
    }
}

impl Lists {
    /// Drops the user's lists: their account was deleted (its rows are deleted whole), and a list
    /// of the same id after it is a new one.
    pub fn forget(&mut self, user: &str) {
        self.playlists.retain(|(u, _), _| u != user);
        self.collections.retain(|(u, _), _| u != user);
    }

    /// Applies a list event of `user`; the list must have been loaded (or be absent in storage).
    pub fn apply(&mut self, user: &str, payload: &EventPayload) {
        use EventPayload as E;
        let Some((is_playlist, id)) = touched(payload) else {
            return;
        };
        let key = (user.to_owned(), id.to_owned());
        if is_playlist {
            let slot = self.playlists.entry(key).or_default();
            match payload {
                E::PlaylistCreated {
                    name,
                    description,
                    public,
                    ..
                } => {
                    *slot = Some(PlaylistRow {
                        name: name.clone(),
                        description: description.clone(),
                        public: *public,
                        items: Vec::new(),
                    });
                }
                E::PlaylistDeleted { .. } => *slot = None,
                _ => {
                    if let Some(playlist) = slot {
                        apply_playlist(playlist, payload);
                    }
                }
            }
        } else {
            let slot = self.collections.entry(key).or_default();
            match payload {
                E::CollectionCreated {
                    title,
                    is_default,
                    public,
                    ..
                } => {
                    *slot = Some(CollectionRow {
                        title: title.clone(),
                        is_default: *is_default,
                        public: *public,
                        feeds: Vec::new(),
                    });
                }
                E::CollectionDeleted { .. } => *slot = None,
                _ => {
                    if let Some(collection) = slot {
                        apply_collection(collection, payload);
                    }
                }
            }
        }
    }
}

fn apply_playlist(playlist: &mut PlaylistRow, payload: &EventPayload) {
    use EventPayload as E;
    match payload {
        E::PlaylistUpdated {
            name, description, ..
        } => {
            playlist.name.clone_from(name);
            playlist.description.clone_from(description);
        }
        E::PlaylistVisibilityChanged { public, .. } => playlist.public = *public,
        E::PlaylistItemAdded { feed, item, .. } => playlist.items.push(ListItem::new(feed, item)),
        E::PlaylistItemRemoved { item, .. } => {
            let id = item.id();
            playlist.items.retain(|i| i.item_id != id);
        }
        E::PlaylistReordered { items, .. } => {
            let mut by_id: HashMap<String, ListItem> = playlist
                .items
                .drain(..)
                .map(|i| (i.item_id.clone(), i))
                .collect();
            playlist.items = items.iter().filter_map(|i| by_id.remove(&i.id())).collect();
        }
        _ => {}
    }
}

fn apply_collection(collection: &mut CollectionRow, payload: &EventPayload) {
    use EventPayload as E;
    match payload {
        E::CollectionUpdated { title, .. } => collection.title.clone_from(title),
        E::CollectionVisibilityChanged { public, .. } => collection.public = *public,
        E::CollectionFeedAdded { feed, .. } => {
            collection.feeds.push((feed.id(), feed.as_str().to_owned()))
        }
        E::CollectionFeedRemoved { feed, .. } => {
            let id = feed.id();
            collection.feeds.retain(|(f, _)| *f != id);
        }
        E::CollectionFeedMoved { feed, position, .. } => {
            let id = feed.id();
            if let Some(from) = collection.feeds.iter().position(|(f, _)| *f == id) {
                let moved = collection.feeds.remove(from);
                let to = usize::try_from(*position)
                    .unwrap_or(usize::MAX)
                    .min(collection.feeds.len());
                collection.feeds.insert(to, moved);
            }
        }
        _ => {}
    }
}
