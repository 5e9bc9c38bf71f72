//! Playlists: named, ordered lists of episodes.

use super::decide::{Rejection, Ruling, description, id, limit, list_fits, name};
use super::state::{Playlist, UserState, item_bytes};
use balados_schemas::{EventPayload, FeedUrl, ItemId};
use std::collections::HashSet;

/// Playlists one user may hold.
pub const MAX_PLAYLISTS: usize = 200;
/// Episodes one playlist may hold.
pub const MAX_PLAYLIST_ITEMS: usize = 1_000;

fn existing<'a>(state: &'a UserState, playlist_id: &str) -> Result<&'a Playlist, Rejection> {
    state
        .playlists
        .get(playlist_id)
        .ok_or_else(|| Rejection::new("not_found", format!("no playlist {playlist_id:?}")))
}

/// Create a playlist with a new id.
pub fn create(
    state: &UserState,
    playlist_id: &str,
    raw_name: &str,
    raw_description: Option<&str>,
    public: bool,
) -> Ruling {
    id("invalid_id", "playlist id", playlist_id, false)?;
    let name = name("invalid_name", "name", raw_name)?;
    let description = raw_description.map(description).transpose()?.flatten();
    if state.playlists.contains_key(playlist_id) {
        return Err(Rejection::new(
            "already_exists",
            format!("a playlist {playlist_id:?} already exists"),
        ));
    }
    if state.playlists.len() >= MAX_PLAYLISTS {
        return Err(limit("playlists", MAX_PLAYLISTS));
    }
    Ok(vec![EventPayload::PlaylistCreated {
        playlist_id: playlist_id.to_owned(),
        name,
        description,
        public,
    }])
}

/// Rename, describe or change the visibility of a playlist; only what changes is emitted.
pub fn update(
    state: &UserState,
    playlist_id: &str,
    raw_name: Option<&str>,
    raw_description: Option<&str>,
    public: Option<bool>,
) -> Ruling {
    let current = existing(state, playlist_id)?;
    let next_name = match raw_name {
        Some(raw) => name("invalid_name", "name", raw)?,
        None => current.name.clone(),
    };
    let next_description = match raw_description {
        Some(raw) => description(raw)?,
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

pub fn delete(state: &UserState, playlist_id: &str) -> Ruling {
    existing(state, playlist_id)?;
    Ok(vec![EventPayload::PlaylistDeleted {
        playlist_id: playlist_id.to_owned(),
    }])
}

/// Append an episode; one already there changes nothing.
pub fn add_item(state: &UserState, playlist_id: &str, feed: &FeedUrl, item: &ItemId) -> Ruling {
    let playlist = existing(state, playlist_id)?;
    if playlist.items.iter().any(|(_, i)| i == item) {
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
    if !playlist.items.iter().any(|(_, i)| i == item) {
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
    let current: HashSet<_> = playlist.items.iter().map(|(_, i)| i).collect();
    let given: HashSet<_> = items.iter().collect();
    if items.len() != playlist.items.len() || given.len() != items.len() || given != current {
        return Err(Rejection::new(
            "invalid_order",
            format!(
                "the new order must list each of the playlist's {} episodes exactly once",
                playlist.items.len()
            ),
        ));
    }
    if playlist.items.iter().map(|(_, i)| i).eq(items.iter()) {
        return Ok(vec![]);
    }
    Ok(vec![EventPayload::PlaylistReordered {
        playlist_id: playlist_id.to_owned(),
        items: items.to_vec(),
    }])
}
