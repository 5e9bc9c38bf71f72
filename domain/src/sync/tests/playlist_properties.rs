//! Properties of the playlist merge, on first syncs (no `last_sync`: the rule where the server has
//! no time of its own then always takes the client's side): the same upload twice changes
//! nothing the second time; two devices' uploads give the same playlists in either order; and
//! after an upload neither the upload's side nor the server's is replaced by an older one, per
//! playlist and per episode.

use super::apply;
use super::properties::arb_state;
use crate::UserState;
use crate::state::{KeptRemovals, Playlist};
use crate::testing::arb_sync_playlist;
use balados_schemas::{CommandPayload, ItemId, SyncPlaylist, SyncPlaylistItem};
use chrono::{DateTime, Utc};
use proptest::prelude::*;

fn device(playlists: Vec<SyncPlaylist>) -> CommandPayload {
    CommandPayload::Sync {
        last_sync: None,
        subscriptions: vec![],
        plays: vec![],
        playlists,
    }
}

/// A playlist as a user sees it: its id, name, description, visibility and episodes.
type Seen = (String, String, Option<String>, bool, Vec<ItemId>);

/// The playlists as a user sees them. Episodes as a set: those two uploads add come in the order
/// of the uploads, which no rule decides.
fn seen(state: &UserState) -> Vec<Seen> {
    (state.playlists.iter())
        .map(|(id, p)| {
            let mut items: Vec<ItemId> = p.items.iter().map(|i| i.item.clone()).collect();
            items.sort();
            let head = (p.name.clone(), p.description.clone(), p.public);
            (id.clone(), head.0, head.1, head.2, items)
        })
        .collect()
}

/// An episode's side as a time and whether it is in the playlist: at the same time, in it wins.
type Side = (DateTime<Utc>, bool);

fn uploaded(item: &SyncPlaylistItem) -> Side {
    match item.removed_at {
        Some(removed) if removed >= item.added_at => (removed, false),
        _ => (item.added_at, true),
    }
}

fn on_server(playlist: &Playlist, item: &ItemId) -> Option<Side> {
    let held = playlist
        .item(item)
        .and_then(|i| i.added_at)
        .map(|a| (a, true));
    held.or_else(|| playlist.removed.get(item).map(|r| (*r, false)))
}

/// Whether the playlist forgot what happened to episodes of sides up to `at`: a side that old
/// may then be gone without a trace.
fn forgot(playlist: &Playlist, at: DateTime<Utc>) -> bool {
    matches!(playlist.kept, KeptRemovals::After(after) if at <= after)
}

/// The episode's side on the server is `side` or newer, or forgotten with everything as old.
fn kept(playlist: &Playlist, item: &ItemId, side: Side) -> bool {
    match on_server(playlist, item) {
        Some(now) => now >= side,
        None => forgot(playlist, side.0),
    }
}

fn check_upload(after: &UserState, list: &SyncPlaylist) -> Result<(), String> {
    let id = list.playlist_id.as_str();
    let live = after.playlists.get(id);
    if let Some(deleted) = list.deleted_at {
        return match (live, after.deleted_playlists.get(id)) {
            (Some(p), _) if p.outlives(deleted) == Some(true) && !forgot(p, deleted) => Err(
                format!("{id}: lived on without what the deletion at {deleted} took"),
            ),
            (Some(_), _) => Ok(()),
            (None, Some(d)) if d.deleted_at >= deleted => Ok(()),
            _ => Err(format!("{id}: the deletion at {deleted} is lost")),
        };
    }
    // An episode given twice counts once, its first.
    let mut seen_items = std::collections::HashSet::new();
    let items: Vec<_> = (list.items.iter())
        .filter(|i| seen_items.insert(&i.item))
        .collect();
    let Some(p) = live else {
        let deleted = after.deleted_playlists.get(id);
        let newer = deleted.is_some_and(|d| {
            let at = d.deleted_at;
            let known =
                |i: &&SyncPlaylistItem| uploaded(i).0 <= at || kept(&d.last, &i.item, uploaded(i));
            list.updated_at < at && items.iter().all(known)
        });
        return if newer {
            Ok(())
        } else {
            Err(format!("{id}: the upload is lost"))
        };
    };
    if (p.changed_at, p.name.as_str()) < (Some(list.updated_at), list.name.as_str()) {
        return Err(format!("{id}: an older name replaced the upload's"));
    }
    for item in items {
        if !kept(p, &item.item, uploaded(item)) {
            return Err(format!(
                "{id}: episode {:?} lost the upload's newer side",
                item.item
            ));
        }
    }
    Ok(())
}

fn check_server(before: &UserState, after: &UserState) -> Result<(), String> {
    for (id, old) in &before.playlists {
        let Some(p) = after.playlists.get(id) else {
            let d = after.deleted_playlists.get(id).map(|d| d.deleted_at);
            if d.is_none_or(|d| old.outlives(d) != Some(false)) {
                return Err(format!("{id}: deleted by an older deletion"));
            }
            continue;
        };
        if (p.changed_at, &p.name) < (old.changed_at, &old.name) {
            return Err(format!("{id}: an older name replaced the server's"));
        }
        let sides = (old
            .items
            .iter()
            .map(|i| (&i.item, i.added_at.map(|a| (a, true)))))
        .chain(old.removed.iter().map(|(i, r)| (i, Some((*r, false)))));
        for (item, side) in sides {
            if let Some(side) = side.filter(|s| !kept(p, item, *s)) {
                return Err(format!(
                    "{id}: episode {item:?} lost the server's side {side:?}"
                ));
            }
        }
    }
    for (id, old) in &before.deleted_playlists {
        let undone = match (after.playlists.get(id), after.deleted_playlists.get(id)) {
            (Some(p), _) => p.outlives(old.deleted_at) != Some(true),
            (None, Some(d)) => d.deleted_at < old.deleted_at,
            (None, None) => true,
        };
        if undone {
            return Err(format!("{id}: its deletion undone by an older upload"));
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn the_same_playlists_twice_change_nothing_the_second_time(
        state in arb_state(),
        lists in proptest::collection::vec(arb_sync_playlist(), 0..4),
    ) {
        let mut state = state;
        apply(&mut state, device(lists.clone()), 100);
        prop_assert_eq!(apply(&mut state, device(lists), 100), vec![]);
    }

    #[test]
    fn two_devices_playlists_give_the_same_playlists_in_either_order(
        state in arb_state(),
        a in proptest::collection::vec(arb_sync_playlist(), 0..3),
        b in proptest::collection::vec(arb_sync_playlist(), 0..3),
    ) {
        let mut ab = state.clone();
        apply(&mut ab, device(a.clone()), 100);
        apply(&mut ab, device(b.clone()), 100);
        let mut ba = state;
        apply(&mut ba, device(b), 100);
        apply(&mut ba, device(a), 100);
        prop_assert_eq!(seen(&ab), seen(&ba));
    }

    #[test]
    fn the_newer_side_of_a_playlist_and_of_an_episode_is_never_lost(
        state in arb_state(),
        lists in proptest::collection::vec(arb_sync_playlist(), 0..3),
    ) {
        let before = state.clone();
        let mut after = state;
        apply(&mut after, device(lists.clone()), 100);
        let mut seen_ids = std::collections::HashSet::new();
        for list in lists.iter().filter(|l| seen_ids.insert(l.playlist_id.clone())) {
            if let Err(why) = check_upload(&after, list) {
                prop_assert!(false, "{}", why);
            }
        }
        if let Err(why) = check_server(&before, &after) {
            prop_assert!(false, "{}", why);
        }
    }
}
