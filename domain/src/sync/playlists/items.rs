//! The episodes of one uploaded playlist against the server's (the rules: `playlists.rs`).

use super::after;
use crate::decide::list_fits;
use crate::playlists::MAX_PLAYLIST_ITEMS;
use crate::state::{KeptRemovals, Playlist, item_bytes};
use crate::sync::Scratch;
use balados_schemas::{EventPayload, ItemId, SyncPlaylist, SyncPlaylistItem};
use chrono::{DateTime, Utc};
use std::collections::HashSet;

/// Whether the client holds the item, and since when (or since when not): a removal at or
/// after the addition removed it.
fn held(item: &SyncPlaylistItem) -> (bool, DateTime<Utc>) {
    match item.removed_at {
        Some(removed) if removed >= item.added_at => (false, removed),
        _ => (true, item.added_at),
    }
}

/// Each item once (its first), with whether the client holds it and since when (clamped).
fn uploads<'l>(
    scratch: &Scratch<'_>,
    items: &'l [SyncPlaylistItem],
) -> Vec<(&'l SyncPlaylistItem, bool, DateTime<Utc>)> {
    let mut seen = HashSet::new();
    (items.iter())
        .filter(|i| seen.insert(&i.item))
        .map(|i| {
            let (held, at) = held(i);
            (i, held, scratch.clamp(at))
        })
        .collect()
}

/// Whether the client added or removed an episode after `since` (any, when `None`).
pub(super) fn changed_after(
    scratch: &Scratch<'_>,
    list: &SyncPlaylist,
    since: Option<DateTime<Utc>>,
) -> bool {
    (uploads(scratch, &list.items).iter()).any(|(_, _, at)| after(since, *at))
}

/// Whether the client added or removed an episode after `at` that the deleted playlist `last`
/// does not already know of as newer: the upload changed it since.
pub(super) fn changed_since(
    scratch: &Scratch<'_>,
    list: &SyncPlaylist,
    last: &Playlist,
    at: DateTime<Utc>,
) -> bool {
    (uploads(scratch, &list.items).iter()).any(|(item, held, when)| {
        *when > at && wins(&known_in(last, &item.item), *held, *when, None)
    })
}

/// What the server knows of an episode of the playlist.
enum Known {
    Held(Option<DateTime<Utc>>),
    Removed(DateTime<Utc>),
    Nothing(KeptRemovals),
}

/// Whether the upload (`held` since `at`) wins against what the server knows.
fn wins(known: &Known, held: bool, at: DateTime<Utc>, since: Option<DateTime<Utc>>) -> bool {
    match *known {
        Known::Held(Some(added)) => at > added,
        // At the same time as a removal, the episode stays.
        Known::Removed(removed) => at > removed || (held && at == removed),
        Known::Nothing(KeptRemovals::All) => true,
        Known::Nothing(KeptRemovals::After(after)) => at > after,
        Known::Held(None) | Known::Nothing(KeptRemovals::Unknown) => after(since, at),
    }
}

fn known(scratch: &Scratch<'_>, id: &str, item: &ItemId) -> Option<Known> {
    scratch.state.playlists.get(id).map(|p| known_in(p, item))
}

fn known_in(playlist: &Playlist, item: &ItemId) -> Known {
    if let Some(held) = playlist.item(item) {
        Known::Held(held.added_at)
    } else if let Some(removed) = playlist.removed.get(item) {
        Known::Removed(*removed)
    } else {
        Known::Nothing(playlist.kept)
    }
}

pub(super) fn merge(
    scratch: &mut Scratch<'_>,
    since: Option<DateTime<Utc>>,
    id: &str,
    items: &[SyncPlaylistItem],
) {
    let Some(playlist) = scratch.state.playlists.get(id) else {
        return;
    };
    let order: Vec<ItemId> = playlist.items.iter().map(|i| i.item.clone()).collect();
    let uploads = uploads(scratch, items);
    // Removals first: the room they free is there for the additions whatever the order.
    for (item, _, at) in uploads.iter().filter(|(_, held, _)| !held) {
        let Some(known) = known(scratch, id, &item.item) else {
            return;
        };
        if !wins(&known, false, *at, since)
            || forgotten_at_once(scratch, id, &known, &item.item, *at)
        {
            continue;
        }
        scratch.push(removal(id, &item.item), *at);
    }
    let mut refreshed = None;
    for (item, _, at) in uploads.iter().filter(|(_, held, _)| *held) {
        let Some(known) = known(scratch, id, &item.item) else {
            return;
        };
        if !wins(&known, true, *at, since) {
            continue;
        }
        if let Known::Held(_) = known {
            // The newer addition's time, which a later removal must beat.
            scratch.push(removal(id, &item.item), *at);
            refreshed = refreshed.max(Some(*at));
        } else if !room(scratch, id, item) {
            continue;
        }
        let payload = EventPayload::PlaylistItemAdded {
            playlist_id: id.to_owned(),
            feed: item.feed.clone(),
            item: item.item.clone(),
        };
        scratch.push(payload, *at);
    }
    if let Some(at) = refreshed {
        keep_order(scratch, id, &order, at);
    }
}

fn removal(id: &str, item: &ItemId) -> EventPayload {
    EventPayload::PlaylistItemRemoved {
        playlist_id: id.to_owned(),
        item: item.clone(),
    }
}

/// Whether recording the removal of an episode the playlist does not hold would forget it at
/// once (the oldest of a full list): then it says nothing the playlist does not already.
fn forgotten_at_once(
    scratch: &Scratch<'_>,
    id: &str,
    known: &Known,
    item: &ItemId,
    at: DateTime<Utc>,
) -> bool {
    match known {
        Known::Held(_) => false,
        _ => (scratch.state.playlists.get(id)).is_none_or(|p| p.forgets_at_once(item, at)),
    }
}

fn room(scratch: &Scratch<'_>, id: &str, item: &SyncPlaylistItem) -> bool {
    scratch.state.playlists.get(id).is_some_and(|p| {
        p.items.len() < MAX_PLAYLIST_ITEMS
            && list_fits(p.bytes(), item_bytes(&item.feed, &item.item)).is_ok()
    })
}

/// Puts the refreshed episodes back where they were (a refresh is a removal then an addition,
/// which appends): the order of the server, then what this upload added, in its order.
fn keep_order(scratch: &mut Scratch<'_>, id: &str, before: &[ItemId], at: DateTime<Utc>) {
    let Some(playlist) = scratch.state.playlists.get(id) else {
        return;
    };
    let now: Vec<&ItemId> = playlist.items.iter().map(|i| &i.item).collect();
    let present: HashSet<&ItemId> = now.iter().copied().collect();
    let old: HashSet<&ItemId> = before.iter().collect();
    let order: Vec<ItemId> = (before.iter())
        .filter(|i| present.contains(i))
        .chain(now.iter().copied().filter(|i| !old.contains(i)))
        .cloned()
        .collect();
    if order.iter().eq(now.iter().copied()) {
        return;
    }
    let payload = EventPayload::PlaylistReordered {
        playlist_id: id.to_owned(),
        items: order,
    };
    scratch.push(payload, at);
}
