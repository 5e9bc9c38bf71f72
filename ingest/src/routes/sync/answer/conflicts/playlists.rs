//! The playlist conflicts of a sync and their reasons. The merge (`domain/src/sync/playlists.rs`)
//! compares the client's time of each playlist and episode with the server's, but the read models
//! hold no times: the reason is what the merge can have refused the upload for, told from the
//! limits and `last_sync`.
//!
//! - A deletion, a rename or a removal is refused only for a change of the server's at least as
//!   new (no limit applies to them): `newer_on_server`. A tie that went the server's way
//!   (`same_time`) cannot be told apart without the times, so it is never reported here; nor can
//!   a record from before times were kept, where `last_sync` decided.
//! - A creation is refused when the user holds [`MAX_PLAYLISTS`] (`limit_exceeded`); else when
//!   the server knows nothing of the playlist and the upload changed nothing after `last_sync`
//!   (`changed_on_server_since_last_sync`), or for a newer deletion the server remembers
//!   (`newer_on_server`). `last_sync` tells the two apart: with a change after it (its name or
//!   any episode), a playlist the server knew nothing of would have been created; without, the
//!   client already had it at its last sync, and it is reported as such whichever refused it.
//! - An addition is refused when the playlist holds [`MAX_PLAYLIST_ITEMS`] or the episode would
//!   take it past [`MAX_LIST_BYTES`] (`limit_exceeded`); else for a newer removal
//!   (`newer_on_server`), or where the server has no time, for being at or before `last_sync`
//!   (`changed_on_server_since_last_sync`): told apart by `last_sync` as creations are.
//!
//! The limits are read after the sync, and that is enough: the merge takes the deletions and the
//! removals first, then each creation or addition only grows what the next one is checked
//! against, so a user or a playlist below a limit after the sync was below it at every refusal.
//! One at a limit may have been refused for either reason; `limit_exceeded` is the one the client
//! can act upon.

use super::conflict;
use crate::routes::sync::answer::reads::List;
use balados_domain::MAX_PLAYLISTS;
use balados_schemas::fields::{MAX_LIST_BYTES, MAX_PLAYLIST_ITEMS};
use balados_schemas::{FeedUrl, ItemId, SyncPlaylist, SyncPlaylistItem};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};

#[cfg(test)]
mod tests;

const NEWER: &str = "newer_on_server";
const CHANGED_SINCE: &str = "changed_on_server_since_last_sync";
const LIMIT: &str = "limit_exceeded";

/// An upload of a playlist the server did not take, with what its reason depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Untaken {
    /// A deletion, a rename or a removal.
    Undoing,
    /// A creation: the user's playlists after the sync, and the upload's latest change.
    Creation {
        playlists: usize,
        latest: DateTime<Utc>,
    },
    /// An addition at `at`: the playlist's episodes and bytes after the sync, and the bytes the
    /// episode would add.
    Addition {
        items: usize,
        bytes: usize,
        adding: usize,
        at: DateTime<Utc>,
    },
}

/// Why the server did not take it (`since`: the client's last sync, as the merge has it).
fn reason(untaken: Untaken, since: Option<DateTime<Utc>>) -> &'static str {
    let (full, at) = match untaken {
        Untaken::Undoing => return NEWER,
        Untaken::Creation { playlists, latest } => (playlists >= MAX_PLAYLISTS, latest),
        Untaken::Addition {
            items,
            bytes,
            adding,
            at,
        } => (
            items >= MAX_PLAYLIST_ITEMS || bytes.saturating_add(adding) > MAX_LIST_BYTES,
            at,
        ),
    };
    if full {
        LIMIT
    } else if since.is_some_and(|s| at <= s) {
        CHANGED_SINCE
    } else {
        NEWER
    }
}

/// What one episode adds to its playlist's bytes, counted as the domain counts it
/// (`domain/src/state/playlists.rs::item_bytes`): its feed URL, GUID and enclosure URL.
fn item_bytes(feed: &FeedUrl, item: &ItemId) -> usize {
    feed.as_str().len() + item.guid().len() + item.enclosure_url().len()
}

/// The bytes a playlist of the read models holds, from its ids (which the domain made, so they
/// decode).
fn list_bytes(list: &List) -> usize {
    (list.items.iter())
        .filter_map(|(item, feed)| {
            Some(item_bytes(
                &FeedUrl::from_id(feed).ok()?,
                &ItemId::from_id(item).ok()?,
            ))
        })
        .sum()
}

/// Each uploaded episode once (its first, as the merge takes it), with whether the client holds
/// it and since when: a removal at or after the addition removed it.
fn uploaded(
    items: &[SyncPlaylistItem],
) -> impl Iterator<Item = (&SyncPlaylistItem, bool, DateTime<Utc>)> {
    let mut seen = HashSet::new();
    (items.iter())
        .filter(move |i| seen.insert(&i.item))
        .map(|i| match i.removed_at {
            Some(removed) if removed >= i.added_at => (i, false, removed),
            _ => (i, true, i.added_at),
        })
}

pub fn playlists(
    uploads: &[SyncPlaylist],
    lists: &[List],
    since: Option<DateTime<Utc>>,
) -> Vec<Value> {
    let by_id: HashMap<&str, &List> = lists.iter().map(|l| (l.id.as_str(), l)).collect();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for p in uploads
        .iter()
        .filter(|p| seen.insert(p.playlist_id.as_str()))
    {
        let server = by_id.get(p.playlist_id.as_str()).copied();
        let local = json!({
            "id": p.playlist_id.as_str(),
            "name": p.name.as_str(),
            "updated_at": p.updated_at,
            "deleted_at": p.deleted_at,
        });
        let remote = server.map_or(Value::Null, List::to_json);
        let untaken = match (p.deleted_at, server) {
            (Some(_), None) => continue,
            (Some(_), Some(_)) => Untaken::Undoing,
            (None, None) => Untaken::Creation {
                playlists: lists.len(),
                latest: (uploaded(&p.items).map(|(_, _, at)| at)).fold(p.updated_at, DateTime::max),
            },
            (None, Some(list)) => {
                let renamed = list.name != p.name.as_str();
                if renamed {
                    out.push(conflict(
                        "playlist",
                        local,
                        remote,
                        reason(Untaken::Undoing, since),
                    ));
                }
                out.extend(items(p, list, since));
                continue;
            }
        };
        out.push(conflict("playlist", local, remote, reason(untaken, since)));
    }
    out
}

fn items(p: &SyncPlaylist, list: &List, since: Option<DateTime<Utc>>) -> Vec<Value> {
    let present: HashSet<&str> = list.items.iter().map(|(i, _)| i.as_str()).collect();
    // The playlist's bytes, counted once and only if an addition was refused.
    let mut bytes = None;
    let mut out = Vec::new();
    for (item, held, at) in uploaded(&p.items) {
        let id = item.item.id();
        if present.contains(id.as_str()) == held {
            continue;
        }
        let untaken = if held {
            Untaken::Addition {
                items: list.items.len(),
                bytes: *bytes.get_or_insert_with(|| list_bytes(list)),
                adding: item_bytes(&item.feed, &item.item),
                at,
            }
        } else {
            Untaken::Undoing
        };
        let local = json!({
            "playlist_id": p.playlist_id.as_str(),
            "rss_source_feed": item.feed.id(),
            "rss_source_item": id,
            "added_at": item.added_at,
            "removed_at": item.removed_at,
        });
        let remote = json!({"playlist_id": list.id, "present": !held});
        out.push(conflict(
            "playlist_item",
            local,
            remote,
            reason(untaken, since),
        ));
    }
    out
}
