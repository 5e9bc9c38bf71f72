//! Playlists in a sync. The aggregate keeps no time per playlist or item (the state records have
//! none), so the client's side is compared with its last sync instead: a change the client made
//! after `last_sync` (the server's reception time of its last sync, from its token) wins — the
//! client changed it since it last saw the server; an older one is what the client already had
//! when it last synced, so the server's state since then stands (an item the server removed is
//! not added back, a playlist the server deleted is not created again). On a first sync (no
//! `last_sync`) every client change applies: the union of both sides, tombstones included.
//! Deletions are tombstones with their time (`deleted_at`, `removed_at`); an item re-added after
//! its removal (`added_at` later) is present.

use super::Scratch;
use crate::decide::list_fits;
use crate::playlists::{MAX_PLAYLIST_ITEMS, MAX_PLAYLISTS};
use crate::state::item_bytes;
use balados_schemas::{EventPayload, SyncPlaylist, SyncPlaylistItem};
use chrono::{DateTime, Utc};

/// Whether a client change at `at` happened after its last sync.
pub fn after(since: Option<DateTime<Utc>>, at: DateTime<Utc>) -> bool {
    since.is_none_or(|s| at > s)
}

/// Whether the client holds the item, and since when (or since when not).
pub fn item_state(item: &SyncPlaylistItem) -> (bool, DateTime<Utc>) {
    match item.removed_at {
        Some(removed) if removed >= item.added_at => (false, removed),
        _ => (true, item.added_at),
    }
}

pub(super) fn merge(scratch: &mut Scratch<'_>, since: Option<DateTime<Utc>>, list: &SyncPlaylist) {
    let id = list.playlist_id.as_str();
    let exists = scratch.state.playlists.contains_key(id);
    let updated = scratch.clamp(list.updated_at);
    match list.deleted_at.map(|d| scratch.clamp(d)) {
        Some(deleted) if exists && after(since, deleted) => {
            let payload = EventPayload::PlaylistDeleted {
                playlist_id: id.to_owned(),
            };
            scratch.push(payload, deleted);
            return;
        }
        Some(_) => return,
        None => {}
    }
    if !exists {
        if !after(since, updated) || scratch.state.playlists.len() >= MAX_PLAYLISTS {
            return;
        }
        let payload = EventPayload::PlaylistCreated {
            playlist_id: id.to_owned(),
            name: list.name.to_string(),
            description: None,
            public: false,
        };
        scratch.push(payload, updated);
    } else if after(since, updated) {
        let current = &scratch.state.playlists[id];
        if current.name != list.name.as_str() {
            let payload = EventPayload::PlaylistUpdated {
                playlist_id: id.to_owned(),
                name: list.name.to_string(),
                description: current.description.clone(),
            };
            scratch.push(payload, updated);
        }
    }
    // An item given twice counts once (its first).
    let mut seen = std::collections::HashSet::new();
    for item in list.items.iter().filter(|i| seen.insert(&i.item)) {
        merge_item(scratch, since, id, item);
    }
}

fn merge_item(
    scratch: &mut Scratch<'_>,
    since: Option<DateTime<Utc>>,
    id: &str,
    item: &SyncPlaylistItem,
) {
    let (held, at) = item_state(item);
    let at = scratch.clamp(at);
    let Some(playlist) = scratch.state.playlists.get(id) else {
        return;
    };
    let present = playlist.items.iter().any(|(_, i)| *i == item.item);
    if held == present || !after(since, at) {
        return;
    }
    let payload = if held {
        let room = playlist.items.len() < MAX_PLAYLIST_ITEMS
            && list_fits(playlist.bytes(), item_bytes(&item.feed, &item.item)).is_ok();
        if !room {
            return;
        }
        EventPayload::PlaylistItemAdded {
            playlist_id: id.to_owned(),
            feed: item.feed.clone(),
            item: item.item.clone(),
        }
    } else {
        EventPayload::PlaylistItemRemoved {
            playlist_id: id.to_owned(),
            item: item.item.clone(),
        }
    };
    scratch.push(payload, at);
}
