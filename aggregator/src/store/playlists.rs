//! A playlist's record: a live playlist with its times and remembered removals, or a deleted one
//! kept for the merge of a bulk sync (`deleted_at`), whose deletion a sync compares uploads with.

use balados_domain::{DeletedPlaylist, KeptRemovals, Playlist, PlaylistItem, UserState};
use balados_schemas::StateEntity;
use balados_schemas::state::{PlaylistItemState, RemovedPlaylistItemState};
use chrono::{DateTime, Utc};

/// The record of playlist `id`: live, deleted, or `None` (a tombstone: never was, or forgotten).
pub(super) fn entity(state: &UserState, id: &str) -> Option<StateEntity> {
    if let Some(live) = state.playlists.get(id) {
        return Some(record(id, live, None));
    }
    let deleted = state.deleted_playlists.get(id)?;
    Some(record(id, &deleted.last, Some(deleted.deleted_at)))
}

fn record(id: &str, p: &Playlist, deleted_at: Option<DateTime<Utc>>) -> StateEntity {
    let (removals_kept, removals_kept_after) = match p.kept {
        KeptRemovals::All => (true, None),
        KeptRemovals::After(at) => (true, Some(at)),
        KeptRemovals::Unknown => (false, None),
    };
    StateEntity::Playlist {
        playlist_id: id.to_owned(),
        name: p.name.clone(),
        description: p.description.clone(),
        public: p.public,
        items: (p.items.iter())
            .map(|i| PlaylistItemState {
                feed: i.feed.clone(),
                item: i.item.clone(),
                added_at: i.added_at,
            })
            .collect(),
        changed_at: p.changed_at,
        deleted_at,
        removed_items: (p.removed.iter())
            .map(|(item, at)| RemovedPlaylistItemState {
                item: item.clone(),
                removed_at: *at,
            })
            .collect(),
        removals_kept,
        removals_kept_after,
    }
}

/// Restore: playlist `id` as its record says (`None`: a tombstone).
pub(super) fn restore(state: &mut UserState, id: String, entity: Option<StateEntity>) {
    state.playlists.remove(&id);
    state.deleted_playlists.remove(&id);
    let Some(StateEntity::Playlist {
        name,
        description,
        public,
        items,
        changed_at,
        deleted_at,
        removed_items,
        removals_kept,
        removals_kept_after,
        ..
    }) = entity
    else {
        return;
    };
    let playlist = Playlist {
        name,
        description,
        public,
        items: (items.into_iter())
            .map(|i| PlaylistItem {
                feed: i.feed,
                item: i.item,
                added_at: i.added_at,
            })
            .collect(),
        changed_at,
        removed: (removed_items.into_iter())
            .map(|r| (r.item, r.removed_at))
            .collect(),
        kept: match (removals_kept, removals_kept_after) {
            (false, _) => KeptRemovals::Unknown,
            (true, None) => KeptRemovals::All,
            (true, Some(at)) => KeptRemovals::After(at),
        },
    };
    match deleted_at {
        Some(deleted_at) => {
            let deleted = DeletedPlaylist {
                deleted_at,
                last: playlist,
            };
            state.deleted_playlists.insert(id, deleted);
        }
        None => {
            state.playlists.insert(id, playlist);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::apply_record;
    use crate::handle::handle;
    use balados_domain::testing::{local, name};
    use balados_domain::{MAX_DELETED_PLAYLISTS, UserState};
    use balados_schemas::{CommandEnvelope, CommandPayload, StateKey, SyncPlaylist, UserId};
    use chrono::{TimeZone as _, Utc};
    use std::collections::HashMap;

    fn deletions(ids: impl Iterator<Item = (String, i64)>, received: i64) -> CommandEnvelope {
        let at = |s: i64| {
            Utc.timestamp_opt(1_700_000_000 + s, 0)
                .single()
                .expect("valid")
        };
        let playlists = ids
            .map(|(id, when)| SyncPlaylist {
                playlist_id: local(&id),
                name: name("Gone"),
                updated_at: at(0),
                deleted_at: Some(at(when)),
                items: vec![],
            })
            .collect();
        CommandEnvelope {
            command_id: uuid::Uuid::new_v4(),
            user_id: UserId::parse("u").expect("valid"),
            occurred_at: at(received),
            received_at: at(received),
            app_id: None,
            device_id: None,
            device_name: None,
            reply_to: None,
            payload: CommandPayload::Sync {
                last_sync: None,
                subscriptions: vec![],
                plays: vec![],
                playlists,
            },
        }
    }

    #[test]
    fn a_deletion_pushed_out_of_the_state_leaves_a_tombstone_and_a_restore_agrees() {
        let mut state = UserState::default();
        let full = (0..MAX_DELETED_PLAYLISTS).map(|n| (format!("d{n}"), 10 + n as i64));
        let first = handle(&mut state, &deletions(full, 1_000), 0, 1);
        assert!(
            first.records.iter().all(|w| w.entity.is_some()),
            "kept as records"
        );
        let one_more = deletions([("new".to_owned(), 900)].into_iter(), 1_000);
        let second = handle(&mut state, &one_more, 0, 2);
        let user = UserId::parse("u").expect("valid");
        let oldest = StateKey::Playlist(user.clone(), "d0".into());
        assert!(
            (second.records.iter()).any(|w| w.key == oldest && w.entity.is_none()),
            "the oldest deletion is forgotten with its record"
        );
        let mut users = HashMap::new();
        for write in first.records.into_iter().chain(second.records) {
            apply_record(&mut users, write.key, write.entity);
        }
        assert_eq!(users[&user], state);
        assert_eq!(state.deleted_playlists.len(), MAX_DELETED_PLAYLISTS);
    }
}
