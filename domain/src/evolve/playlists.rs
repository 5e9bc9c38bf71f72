//! Playlist events applied to the state, with their times: the event's `occurred_at` (the
//! client's, clamped) is when the playlist or the episode changed, what a later sync compares
//! its upload with.

use crate::state::{DeletedPlaylist, Playlist, PlaylistItem, UserState};
use balados_schemas::{EventPayload, ItemId};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

pub(super) fn apply(state: &mut UserState, payload: &EventPayload, at: DateTime<Utc>) {
    use EventPayload as E;
    match payload {
        E::PlaylistCreated {
            playlist_id,
            name,
            description,
            public,
        } => {
            // A deletion it replaces leaves its later removals, and forgets what it took.
            let before = state.deleted_playlists.remove(playlist_id);
            let playlist =
                Playlist::created(name.clone(), description.clone(), *public, at, before);
            state.playlists.insert(playlist_id.clone(), playlist);
        }
        E::PlaylistDeleted { playlist_id } => {
            let deleted = match state.playlists.remove(playlist_id) {
                Some(live) => live.deleted(at),
                // Deleted again (a later upload of the deletion), or never seen here: only its
                // time is news.
                None => match state.deleted_playlists.remove(playlist_id) {
                    Some(earlier) => earlier.last.deleted(at),
                    None => DeletedPlaylist::unknown(at),
                },
            };
            state.remember_deletion(playlist_id.clone(), deleted);
        }
        E::PlaylistUpdated { playlist_id, .. }
        | E::PlaylistVisibilityChanged { playlist_id, .. }
        | E::PlaylistItemAdded { playlist_id, .. }
        | E::PlaylistItemRemoved { playlist_id, .. }
        | E::PlaylistReordered { playlist_id, .. } => {
            if let Some(playlist) = state.playlists.get_mut(playlist_id) {
                change(playlist, payload, at);
            } else if let (Some(deleted), E::PlaylistUpdated { .. }) =
                (state.deleted_playlists.get_mut(playlist_id), payload)
            {
                // A newer name uploaded for a deleted playlist: what it is made again with.
                change(&mut deleted.last, payload, at);
            }
        }
        _ => {}
    }
}

fn change(p: &mut Playlist, payload: &EventPayload, at: DateTime<Utc>) {
    use EventPayload as E;
    match payload {
        E::PlaylistUpdated {
            name, description, ..
        } => {
            p.name.clone_from(name);
            p.description.clone_from(description);
            p.changed_at = Some(at);
        }
        E::PlaylistVisibilityChanged { public, .. } => {
            p.public = *public;
            p.changed_at = Some(at);
        }
        E::PlaylistItemAdded { feed, item, .. } => {
            p.removed.remove(item);
            p.items.push(PlaylistItem {
                feed: feed.clone(),
                item: item.clone(),
                added_at: Some(at),
            });
        }
        E::PlaylistItemRemoved { item, .. } => {
            p.items.retain(|i| i.item != *item);
            p.remember_removal(item.clone(), at);
        }
        E::PlaylistReordered { items, .. } => {
            let mut by_item: HashMap<ItemId, PlaylistItem> =
                (p.items.drain(..)).map(|i| (i.item.clone(), i)).collect();
            p.items = items.iter().filter_map(|i| by_item.remove(i)).collect();
        }
        _ => {}
    }
}
