//! Playlists: named, ordered lists of episodes.

use super::decide::{Rejection, Ruling, limit, list_fits};
use super::state::{Playlist, UserState, item_bytes};
use balados_schemas::RejectionCode;
use balados_schemas::{CommandPayload, Description, EventPayload, FeedUrl, ItemId, LocalId, Name};
use chrono::{DateTime, TimeDelta, Utc};
use std::collections::HashSet;

/// Playlists one user may hold.
pub const MAX_PLAYLISTS: usize = 200;
pub use super::state::{MAX_DELETED_PLAYLISTS, MAX_REMOVED_BYTES, MAX_REMOVED_ITEMS};
pub use balados_schemas::fields::MAX_PLAYLIST_ITEMS;

fn existing<'a>(state: &'a UserState, playlist_id: &str) -> Result<&'a Playlist, Rejection> {
    state.playlists.get(playlist_id).ok_or_else(|| {
        Rejection::new(
            RejectionCode::NotFound,
            format!("no playlist {playlist_id:?}"),
        )
    })
}

/// Create a playlist with a new id.
pub fn create(
    state: &UserState,
    playlist_id: &LocalId,
    name: &Name,
    description: Option<&Description>,
    public: bool,
) -> Ruling {
    let playlist_id = playlist_id.as_str();
    if state.playlists.contains_key(playlist_id) {
        return Err(Rejection::new(
            RejectionCode::AlreadyExists,
            format!("a playlist {playlist_id:?} already exists"),
        ));
    }
    if state.playlists.len() >= MAX_PLAYLISTS {
        return Err(limit("playlists", MAX_PLAYLISTS));
    }
    Ok(vec![EventPayload::PlaylistCreated {
        playlist_id: playlist_id.to_owned(),
        name: name.to_string(),
        description: description.and_then(text),
        public,
    }])
}

/// Rename, describe or change the visibility of a playlist; only what changes is emitted.
pub fn update(
    state: &UserState,
    playlist_id: &str,
    name: Option<&Name>,
    description: Option<&Description>,
    public: Option<bool>,
) -> Ruling {
    let current = existing(state, playlist_id)?;
    let next_name = name.map_or_else(|| current.name.clone(), Name::to_string);
    let next_description = match description {
        Some(given) => text(given),
        None => current.description.clone(),
    };
    let mut events = Vec::new();
    if next_name != current.name || next_description != current.description {
        events.push(EventPayload::PlaylistUpdated {
            playlist_id: playlist_id.to_owned(),
            name: next_name,
            description: next_description,
        });
    }
    if let Some(public) = public.filter(|p| *p != current.public) {
        events.push(EventPayload::PlaylistVisibilityChanged {
            playlist_id: playlist_id.to_owned(),
            public,
        });
    }
    Ok(events)
}

/// An empty description is none.
fn text(description: &Description) -> Option<String> {
    (!description.is_empty()).then(|| description.to_string())
}

pub fn delete(state: &UserState, playlist_id: &str) -> Ruling {
    existing(state, playlist_id)?;
    Ok(vec![EventPayload::PlaylistDeleted {
        playlist_id: playlist_id.to_owned(),
    }])
}

/// Append an episode; one already there changes nothing.
pub fn add_item(state: &UserState, playlist_id: &str, feed: &FeedUrl, item: &ItemId) -> Ruling {
    let playlist = existing(state, playlist_id)?;
    if playlist.item(item).is_some() {
        return Ok(vec![]);
    }
    if playlist.items.len() >= MAX_PLAYLIST_ITEMS {
        return Err(limit("episodes in a playlist", MAX_PLAYLIST_ITEMS));
    }
    list_fits(playlist.bytes(), item_bytes(feed, item))?;
    Ok(vec![EventPayload::PlaylistItemAdded {
        playlist_id: playlist_id.to_owned(),
        feed: feed.clone(),
        item: item.clone(),
    }])
}

/// Remove an episode; one not there changes nothing.
pub fn remove_item(state: &UserState, playlist_id: &str, item: &ItemId) -> Ruling {
    let playlist = existing(state, playlist_id)?;
    if playlist.item(item).is_none() {
        return Ok(vec![]);
    }
    Ok(vec![EventPayload::PlaylistItemRemoved {
        playlist_id: playlist_id.to_owned(),
        item: item.clone(),
    }])
}

/// A new order: every item of the playlist exactly once.
pub fn reorder(state: &UserState, playlist_id: &str, items: &[ItemId]) -> Ruling {
    let playlist = existing(state, playlist_id)?;
    let current: HashSet<_> = playlist.items.iter().map(|i| &i.item).collect();
    let given: HashSet<_> = items.iter().collect();
    if items.len() != playlist.items.len() || given.len() != items.len() || given != current {
        return Err(Rejection::new(
            RejectionCode::InvalidOrder,
            format!(
                "the new order must list each of the playlist's {} episodes exactly once",
                playlist.items.len()
            ),
        ));
    }
    if playlist.items.iter().map(|i| &i.item).eq(items.iter()) {
        return Ok(vec![]);
    }
    Ok(vec![EventPayload::PlaylistReordered {
        playlist_id: playlist_id.to_owned(),
        items: items.to_vec(),
    }])
}

/// The time of a playlist command's events: the command's, or that of the change it replaces
/// when the client's clock is behind it — a removal just after the addition, a deletion just
/// after the latest change. An older time would let a sync's upload of the replaced side, at
/// its own time, take the change back (docs/architecture.md §11).
pub fn time_of(state: &UserState, payload: &CommandPayload, at: DateTime<Utc>) -> DateTime<Utc> {
    let not_before = |t: Option<DateTime<Utc>>| t.map_or(at, |t| at.max(t));
    let after = |t: Option<DateTime<Utc>>| not_before(t.map(|t| t + TimeDelta::milliseconds(1)));
    let live = |id: &LocalId| state.playlists.get(id.as_str());
    match payload {
        CommandPayload::CreatePlaylist { playlist_id, .. } => {
            let deleted = state.deleted_playlists.get(playlist_id.as_str());
            not_before(deleted.map(|d| d.deleted_at))
        }
        CommandPayload::UpdatePlaylist { playlist_id, .. } => {
            after(live(playlist_id).and_then(|p| p.changed_at))
        }
        CommandPayload::DeletePlaylist { playlist_id } => {
            after(live(playlist_id).and_then(Playlist::latest))
        }
        CommandPayload::AddPlaylistItem {
            playlist_id, item, ..
        } => not_before(live(playlist_id).and_then(|p| p.removed.get(item).copied())),
        CommandPayload::RemovePlaylistItem { playlist_id, item } => {
            after(live(playlist_id).and_then(|p| p.item(item)?.added_at))
        }
        _ => at,
    }
}
