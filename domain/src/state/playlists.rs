//! Playlists in the user's state, with the times the merge of a bulk sync compares
//! (docs/architecture.md §11): when each playlist last changed, when each episode was added, and
//! what was removed or deleted, bounded.

use balados_schemas::{FeedUrl, ItemId};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// Removals a playlist remembers, the latest; no age limit, since an old one is what stops the
/// device that stayed offline longest. One pushed out raises [`KeptRemovals::After`]: an upload
/// adding an episode back at or before it is then refused as possibly stale. A hundred is more
/// than a device misses between two syncs, and keeps the record under a broker's limit beside
/// its items (`aggregator/tests/filled_user.rs`).
pub const MAX_REMOVED_ITEMS: usize = 100;
/// Bytes of GUIDs and URLs of the removals a playlist remembers.
pub const MAX_REMOVED_BYTES: usize = 64 * 1024;
/// Deleted playlists a user's state remembers, the latest deletions: as many as a sync may carry,
/// so that one sync's deletions do not push each other out. One forgotten is a playlist the
/// server knows nothing of (then the client's last sync decides).
pub const MAX_DELETED_PLAYLISTS: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Playlist {
    pub name: String,
    pub description: Option<String>,
    pub public: bool,
    pub items: Vec<PlaylistItem>,
    /// When it was created or its name, description or visibility last changed; `None` when
    /// restored from a record written before times were kept.
    pub changed_at: Option<DateTime<Utc>>,
    /// Episodes removed from it and when: the latest ([`MAX_REMOVED_ITEMS`],
    /// [`MAX_REMOVED_BYTES`]).
    pub removed: BTreeMap<ItemId, DateTime<Utc>>,
    pub kept: KeptRemovals,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaylistItem {
    pub feed: FeedUrl,
    pub item: ItemId,
    /// `None` when restored from a record written before times were kept.
    pub added_at: Option<DateTime<Utc>>,
}

/// Which removals [`Playlist::removed`] holds: what an episode it neither holds nor lists as
/// removed means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeptRemovals {
    /// Every one since it was created: such an episode was never in it.
    All,
    /// Every one after this time; one at or before it may be forgotten (pushed out by later
    /// ones, or gone with a deletion of the playlist).
    After(DateTime<Utc>),
    /// None: restored from a record written before removals were kept.
    Unknown,
}

impl KeptRemovals {
    /// After the removals up to `at` (included) are forgotten.
    pub fn forgetting(self, at: DateTime<Utc>) -> Self {
        match self {
            Self::After(after) if after >= at => self,
            Self::Unknown => self,
            _ => Self::After(at),
        }
    }
}

/// A deleted playlist, remembered so that an upload older than the deletion does not create it
/// again, and one newer that does finds what it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletedPlaylist {
    pub deleted_at: DateTime<Utc>,
    /// The playlist as it was, without its items: its name, description and visibility with
    /// their time, and the removals after the deletion.
    pub last: Playlist,
}

impl Playlist {
    /// A playlist created at `at`; `before` is the deletion it replaces, if remembered.
    pub fn created(
        name: String,
        description: Option<String>,
        public: bool,
        at: DateTime<Utc>,
        before: Option<DeletedPlaylist>,
    ) -> Self {
        let (removed, kept) = before.map_or((BTreeMap::new(), KeptRemovals::All), |d| {
            (d.last.removed, d.last.kept)
        });
        Self {
            name,
            description,
            public,
            items: Vec::new(),
            changed_at: Some(at),
            removed,
            kept,
        }
    }

    /// The bytes of the URLs and GUIDs it holds: what its state record grows with.
    pub fn bytes(&self) -> usize {
        self.items
            .iter()
            .map(|i| item_bytes(&i.feed, &i.item))
            .sum()
    }

    pub fn item(&self, item: &ItemId) -> Option<&PlaylistItem> {
        self.items.iter().find(|i| i.item == *item)
    }

    /// Whether it changed since a deletion at `at`: its name, description or visibility at or
    /// after it (at the same time the playlist stays), or an episode added or removed after it
    /// (a deletion takes those added at or before it). `None` when restored from a record
    /// written before times were kept.
    pub fn outlives(&self, at: DateTime<Utc>) -> Option<bool> {
        if self.kept == KeptRemovals::Unknown {
            return None;
        }
        let added = self.items.iter().filter_map(|i| i.added_at);
        let changed_after = added.chain(self.removed.values().copied()).any(|t| t > at);
        Some(self.changed_at? >= at || changed_after)
    }

    /// Its latest change the state knows of: of its name, description or visibility, an
    /// addition or a removal.
    pub fn latest(&self) -> Option<DateTime<Utc>> {
        let added = self.items.iter().filter_map(|i| i.added_at);
        let removed = self.removed.values().copied();
        added.chain(removed).chain(self.changed_at).max()
    }

    /// Remembers a removal, forgetting the oldest beyond the bounds.
    pub fn remember_removal(&mut self, item: ItemId, at: DateTime<Utc>) {
        self.removed.insert(item, at);
        let mut count = self.removed.len();
        let mut bytes: usize = self.removed.keys().map(removal_bytes).sum();
        while count > MAX_REMOVED_ITEMS || bytes > MAX_REMOVED_BYTES {
            let Some((oldest, when)) = (self.removed.iter())
                .min_by_key(|(i, t)| (**t, *i))
                .map(|(i, t)| (i.clone(), *t))
            else {
                break;
            };
            self.removed.remove(&oldest);
            (count, bytes) = (count - 1, bytes - removal_bytes(&oldest));
            self.kept = self.kept.forgetting(when);
        }
    }

    /// Whether remembering this removal would forget it at once, as the oldest beyond the bounds.
    pub fn forgets_at_once(&self, item: &ItemId, at: DateTime<Utc>) -> bool {
        let mut removals: Vec<(DateTime<Utc>, &ItemId)> = (self.removed.iter())
            .filter(|(i, _)| *i != item)
            .map(|(i, t)| (*t, i))
            .chain([(at, item)])
            .collect();
        removals.sort_unstable();
        let mut count = removals.len();
        let mut bytes: usize = removals.iter().map(|(_, i)| removal_bytes(i)).sum();
        for (_, oldest) in removals {
            if count <= MAX_REMOVED_ITEMS && bytes <= MAX_REMOVED_BYTES {
                return false;
            }
            if oldest == item {
                return true;
            }
            (count, bytes) = (count - 1, bytes - removal_bytes(oldest));
        }
        false
    }

    /// What a deletion at `at` leaves of it: no items, the removals after the deletion.
    pub fn deleted(mut self, at: DateTime<Utc>) -> DeletedPlaylist {
        self.items.clear();
        self.removed.retain(|_, t| *t > at);
        self.kept = match self.kept {
            KeptRemovals::Unknown | KeptRemovals::All => KeptRemovals::After(at),
            kept => kept.forgetting(at),
        };
        DeletedPlaylist {
            deleted_at: at,
            last: self,
        }
    }
}

impl DeletedPlaylist {
    /// The deletion of a playlist the state knows nothing of.
    pub fn unknown(at: DateTime<Utc>) -> Self {
        let nothing = Playlist {
            name: String::new(),
            description: None,
            public: false,
            items: Vec::new(),
            changed_at: None,
            removed: BTreeMap::new(),
            kept: KeptRemovals::All,
        };
        nothing.deleted(at)
    }
}

/// What one playlist item adds to its playlist's record.
pub fn item_bytes(feed: &FeedUrl, item: &ItemId) -> usize {
    feed.as_str().len() + removal_bytes(item)
}

fn removal_bytes(item: &ItemId) -> usize {
    item.guid().len() + item.enclosure_url().len()
}
