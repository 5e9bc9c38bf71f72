//! Playlists: named, ordered lists of episodes.

use super::decide::{Rejection, Ruling, description, id, limit, name};
use super::state::{Playlist, UserState};
use balados_schemas::{CommandPayload, EventPayload};
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

pub fn decide(state: &UserState, command: &CommandPayload) -> Ruling {
    let events = match command {
        CommandPayload::CreatePlaylist {
            playlist_id,
            name: raw_name,
            description: raw_description,
            public,
        } => {
            id("invalid_id", "playlist id", playlist_id, false)?;
            let name = name("invalid_name", "name", raw_name)?;
            let description = raw_description
                .as_deref()
                .map(description)
                .transpose()?
                .flatten();
            if state.playlists.contains_key(playlist_id) {
                return Err(Rejection::new(
                    "already_exists",
                    format!("a playlist {playlist_id:?} already exists"),
                ));
            }
            if state.playlists.len() >= MAX_PLAYLISTS {
                return Err(limit("playlists", MAX_PLAYLISTS));
            }
            vec![EventPayload::PlaylistCreated {
                playlist_id: playlist_id.clone(),
                name,
                description,
                public: *public,
            }]
        }
        CommandPayload::UpdatePlaylist {
            playlist_id,
            name: raw_name,
            description: raw_description,
            public,
        } => {
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
                    playlist_id: playlist_id.clone(),
                    name: next_name,
                    description: next_description,
                });
            }
            if let Some(public) = public.filter(|p| *p != current.public) {
                events.push(EventPayload::PlaylistVisibilityChanged {
                    playlist_id: playlist_id.clone(),
                    public,
                });
            }
            events
        }
        CommandPayload::DeletePlaylist { playlist_id } => {
            existing(state, playlist_id)?;
            vec![EventPayload::PlaylistDeleted {
                playlist_id: playlist_id.clone(),
            }]
        }
        CommandPayload::AddPlaylistItem {
            playlist_id,
            feed,
            item,
        } => {
            let playlist = existing(state, playlist_id)?;
            if playlist.items.iter().any(|(_, i)| i == item) {
                return Ok(vec![]);
            }
            if playlist.items.len() >= MAX_PLAYLIST_ITEMS {
                return Err(limit("episodes in a playlist", MAX_PLAYLIST_ITEMS));
            }
            vec![EventPayload::PlaylistItemAdded {
                playlist_id: playlist_id.clone(),
                feed: feed.clone(),
                item: item.clone(),
            }]
        }
        CommandPayload::RemovePlaylistItem { playlist_id, item } => {
            let playlist = existing(state, playlist_id)?;
            if !playlist.items.iter().any(|(_, i)| i == item) {
                return Ok(vec![]);
            }
            vec![EventPayload::PlaylistItemRemoved {
                playlist_id: playlist_id.clone(),
                item: item.clone(),
            }]
        }
        CommandPayload::ReorderPlaylist { playlist_id, items } => {
            let playlist = existing(state, playlist_id)?;
            let current: HashSet<_> = playlist.items.iter().map(|(_, i)| i).collect();
            let given: HashSet<_> = items.iter().collect();
            if items.len() != playlist.items.len() || given.len() != items.len() || given != current
            {
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
            vec![EventPayload::PlaylistReordered {
                playlist_id: playlist_id.clone(),
                items: items.clone(),
            }]
        }
        other => {
            debug_assert!(false, "{} is not a playlist command", other.kind());
            Vec::new()
        }
    };
    Ok(events)
}
