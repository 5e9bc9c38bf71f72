//! Playlists in a sync (docs/architecture.md §11): each playlist, then each of its episodes, is
//! merged by comparing the client's time of it with the server's (the state keeps them:
//! `state/playlists.rs`). The newer side wins, ties go one documented way, and nothing a side
//! already has is undone by an older upload, so uploads from several devices give the same
//! playlists in any order (the order of the episodes they add excepted).
//!
//! - Name: the client's `updated_at` against the server's `changed_at` (creation, name,
//!   description or visibility); at the same time the greater name, byte-wise. The client sends
//!   no description nor visibility: a name it wins keeps the server's.
//! - Deletion against a live playlist: it wins when the playlist did not change since — its name
//!   older than the deletion, no episode added or removed after it. One that loses still takes
//!   the episodes added at or before it, and keeps out older additions uploaded later: the events
//!   say so as the deletion, then the playlist made again with its later episodes.
//! - A live upload against a deleted playlist makes it again when it changed it since the
//!   deletion (its name at or after it, or an episode added or removed after it that the server
//!   does not know as newer), with the newer of the name it had and the upload's, and without
//!   the episodes added at or before the deletion. Otherwise it stays deleted, and a newer name
//!   is what it would be made again with.
//! - Episode: the client's item says whether it holds it and since when (`removed_at` at or after
//!   `added_at`: removed since then). Against an episode the playlist holds, a newer removal
//!   removes it and a newer addition records its time (as a removal and an addition, then the
//!   order the playlist had), which an older removal uploaded later must beat. Against a
//!   remembered removal, an addition at the same time or newer adds it back, a newer removal
//!   records its time. Against nothing remembered, the upload wins when newer than every removal
//!   the playlist may have forgotten (`KeptRemovals`).
//! - Remembered, bounded: the latest 100 removals of a playlist (64 KiB), the latest 200 deleted
//!   playlists of a user, whatever their age (an old one is what stops the device that stayed
//!   offline longest). A removal or a deletion that would be forgotten at once is not recorded.
//! - Where the server has no time to compare with — a playlist it knows nothing of (never seen,
//!   or its deletion forgotten), or what was restored from a record written before times were
//!   kept — the client's change wins when it is after the client's last sync (`last_sync`: the
//!   server's reception time of that sync); an older one is what the client already had then.
//!   On a first sync (no `last_sync`) it wins.
//!
//! Deletions are merged first, then within a playlist the removals: the room they free is there
//! for the creations and additions whatever the order of the upload, so the same sync twice
//! changes nothing the second time. What would exceed a limit is left out.

mod items;

use super::Scratch;
use crate::playlists::MAX_PLAYLISTS;
use crate::state::{DeletedPlaylist, KeptRemovals, MAX_DELETED_PLAYLISTS, Playlist, UserState};
use balados_schemas::{EventPayload, SyncPlaylist};
use chrono::{DateTime, Utc};
use std::collections::HashSet;

/// Whether a client change at `at` happened after its last sync: the rule where the server has
/// no time of its own.
fn after(since: Option<DateTime<Utc>>, at: DateTime<Utc>) -> bool {
    since.is_none_or(|s| at > s)
}

pub(super) fn merge(
    scratch: &mut Scratch<'_>,
    since: Option<DateTime<Utc>>,
    lists: &[SyncPlaylist],
) {
    // A playlist given twice counts once (its first), else the second undoes the first.
    let mut seen = HashSet::new();
    let lists: Vec<&SyncPlaylist> = (lists.iter())
        .filter(|l| seen.insert(l.playlist_id.as_str()))
        .collect();
    for list in &lists {
        if let Some(deleted) = list.deleted_at {
            delete(scratch, since, list.playlist_id.as_str(), deleted);
        }
    }
    for list in lists.iter().filter(|l| l.deleted_at.is_none()) {
        keep(scratch, since, list);
    }
}

fn delete(scratch: &mut Scratch<'_>, since: Option<DateTime<Utc>>, id: &str, at: DateTime<Utc>) {
    let at = scratch.clamp(at);
    let deleted = EventPayload::PlaylistDeleted {
        playlist_id: id.to_owned(),
    };
    if let Some(live) = scratch.state.playlists.get(id) {
        match live.outlives(at) {
            Some(true) if takes_something(live, at) => {
                let live = live.clone();
                scratch.push(deleted, at);
                made_again(scratch, id, &live, at);
            }
            Some(true) => {}
            Some(false) => scratch.push(deleted, at),
            None if after(since, at) => scratch.push(deleted, at),
            None => {}
        }
        return;
    }
    let news = match scratch.state.deleted_playlists.get(id) {
        Some(known) => at > known.deleted_at,
        None => after(since, at) && !forgotten_at_once(&scratch.state, id, at),
    };
    if news {
        scratch.push(deleted, at);
    }
}

/// Whether a deletion at `at` older than the playlist's latest change still removes something:
/// an episode added at or before it, or one it keeps out that the playlist would take.
fn takes_something(live: &Playlist, at: DateTime<Utc>) -> bool {
    let older = |i: &crate::state::PlaylistItem| i.added_at.is_none_or(|a| a <= at);
    live.items.iter().any(older)
        || match live.kept {
            KeptRemovals::All => true,
            KeptRemovals::After(after) => after < at,
            KeptRemovals::Unknown => false,
        }
}

/// After a deletion at `at` that lost: the playlist as it was, with its episodes added after.
fn made_again(scratch: &mut Scratch<'_>, id: &str, live: &Playlist, at: DateTime<Utc>) {
    let created = EventPayload::PlaylistCreated {
        playlist_id: id.to_owned(),
        name: live.name.clone(),
        description: live.description.clone(),
        public: live.public,
    };
    scratch.push(created, live.changed_at.unwrap_or(at));
    for item in &live.items {
        let Some(added) = item.added_at.filter(|a| *a > at) else {
            continue;
        };
        let payload = EventPayload::PlaylistItemAdded {
            playlist_id: id.to_owned(),
            feed: item.feed.clone(),
            item: item.item.clone(),
        };
        scratch.push(payload, added);
    }
}

/// Whether the client changed its playlist since a deletion at `at` would have taken it, as
/// [`Playlist::outlives`] says of the server's.
fn outlives(
    scratch: &Scratch<'_>,
    list: &SyncPlaylist,
    named: DateTime<Utc>,
    deleted: &DeletedPlaylist,
) -> bool {
    let at = deleted.deleted_at;
    named >= at || items::changed_since(scratch, list, &deleted.last, at)
}

/// Whether a new deleted playlist would be the oldest of a full list, so forgotten at once.
fn forgotten_at_once(state: &UserState, id: &str, at: DateTime<Utc>) -> bool {
    let deleted = &state.deleted_playlists;
    deleted.len() >= MAX_DELETED_PLAYLISTS
        && (deleted.iter()).all(|(other, d)| (d.deleted_at, other.as_str()) > (at, id))
}

/// A playlist the client holds: its name, then its episodes.
fn keep(scratch: &mut Scratch<'_>, since: Option<DateTime<Utc>>, list: &SyncPlaylist) {
    let id = list.playlist_id.as_str();
    let named = scratch.clamp(list.updated_at);
    let name = list.name.as_str();
    if let Some(live) = scratch.state.playlists.get(id) {
        let wins = match live.changed_at {
            Some(changed) => (named, name) > (changed, live.name.as_str()),
            None => after(since, named),
        };
        if wins {
            let payload = EventPayload::PlaylistUpdated {
                playlist_id: id.to_owned(),
                name: name.to_owned(),
                description: live.description.clone(),
            };
            scratch.push(payload, named);
        }
        items::merge(scratch, since, id, &list.items);
        return;
    }
    let created = match scratch.state.deleted_playlists.get(id) {
        Some(deleted) if !outlives(scratch, list, named, deleted) => {
            // It stays deleted; a newer name is what it would be made again with.
            let last = &deleted.last;
            if last
                .changed_at
                .is_none_or(|c| (named, name) > (c, last.name.as_str()))
            {
                let payload = EventPayload::PlaylistUpdated {
                    playlist_id: id.to_owned(),
                    name: name.to_owned(),
                    description: last.description.clone(),
                };
                scratch.push(payload, named);
            }
            return;
        }
        Some(deleted) => {
            let last = &deleted.last;
            let (name, at) = match last.changed_at {
                Some(c) if (c, last.name.as_str()) > (named, name) => (last.name.clone(), c),
                _ => (name.to_owned(), named),
            };
            let payload = EventPayload::PlaylistCreated {
                playlist_id: id.to_owned(),
                name,
                description: last.description.clone(),
                public: last.public,
            };
            (payload, at)
        }
        None if after(since, named) || items::changed_after(scratch, list, since) => {
            let payload = EventPayload::PlaylistCreated {
                playlist_id: id.to_owned(),
                name: name.to_owned(),
                description: None,
                public: false,
            };
            (payload, named)
        }
        None => return,
    };
    if scratch.state.playlists.len() >= MAX_PLAYLISTS {
        return;
    }
    scratch.push(created.0, created.1);
    items::merge(scratch, since, id, &list.items);
}
