//! The playlist rules of a sync (`sync/playlists.rs`), one test per rule.

use super::{apply, entry, list, sync};
use crate::testing::{at, feed, item, local, name};
use crate::{
    KeptRemovals, MAX_DELETED_PLAYLISTS, MAX_REMOVED_ITEMS, Playlist, PlaylistItem, UserState,
};
use balados_schemas::{CommandPayload, EventPayload, ItemId, SyncPlaylist, SyncPlaylistItem};

fn upload(last_sync: Option<i64>, lists: Vec<SyncPlaylist>) -> CommandPayload {
    sync(last_sync, vec![], vec![], lists)
}

fn named(p: &str, updated: i64, called: &str, items: Vec<SyncPlaylistItem>) -> SyncPlaylist {
    SyncPlaylist {
        name: name(called),
        ..list(p, updated, items)
    }
}

fn deleted(p: &str, when: i64) -> SyncPlaylist {
    SyncPlaylist {
        deleted_at: Some(at(when)),
        ..list(p, 0, vec![])
    }
}

fn items(state: &UserState, p: &str) -> Vec<ItemId> {
    (state.playlists[p].items.iter())
        .map(|i| i.item.clone())
        .collect()
}

fn added_at(state: &UserState, p: &str, n: u32) -> Option<chrono::DateTime<chrono::Utc>> {
    state.playlists[p].item(&item(n)).and_then(|i| i.added_at)
}

/// A state with playlist "p1" named "Mix" at 10 holding episodes `ns`, added at 10.
fn mix(ns: &[u32]) -> UserState {
    let mut state = UserState::default();
    let entries = ns.iter().map(|n| entry(*n, 10, None)).collect();
    apply(&mut state, upload(None, vec![list("p1", 10, entries)]), 20);
    state
}

#[test]
fn a_first_sync_creates_the_clients_playlists_with_their_items_and_times() {
    let mut state = UserState::default();
    let items_ = vec![entry(1, 10, None), entry(2, 10, Some(12))];
    apply(&mut state, upload(None, vec![list("p1", 11, items_)]), 50);
    assert_eq!(items(&state, "p1"), vec![item(1)]);
    assert_eq!(added_at(&state, "p1", 1), Some(at(10)));
    assert_eq!(state.playlists["p1"].changed_at, Some(at(11)));
    assert_eq!(state.playlists["p1"].removed.get(&item(2)), Some(&at(12)));
}

#[test]
fn the_newer_name_wins_whatever_the_last_sync_and_a_tie_goes_to_the_greater_name() {
    let mut state = mix(&[]);
    apply(
        &mut state,
        upload(Some(20), vec![named("p1", 30, "Road", vec![])]),
        40,
    );
    assert_eq!(state.playlists["p1"].name, "Road");
    // Renamed after its last sync, but before the server's rename: the newer stays.
    let late = upload(Some(20), vec![named("p1", 25, "Late", vec![])]);
    assert_eq!(apply(&mut state, late, 40), vec![]);
    assert_eq!(state.playlists["p1"].name, "Road");
    apply(
        &mut state,
        upload(None, vec![named("p1", 30, "Zed", vec![])]),
        40,
    );
    assert_eq!(
        state.playlists["p1"].name, "Zed",
        "the greater name at a tie"
    );
    let smaller = upload(None, vec![named("p1", 30, "Abc", vec![])]);
    assert_eq!(apply(&mut state, smaller, 40), vec![]);
}

#[test]
fn an_episode_changed_later_on_the_server_than_by_the_client_keeps_the_servers_change() {
    let mut state = mix(&[1, 2]);
    let removed = CommandPayload::RemovePlaylistItem {
        playlist_id: local("p1"),
        item: item(1),
    };
    apply(&mut state, removed, 40);
    // Since its last sync (20) the client removed and added again episode 1 (at 30): the
    // server's removal (40) is newer. It removed episode 2 (35) and added 3 (45): both newer.
    let lists = vec![list(
        "p1",
        10,
        vec![
            entry(1, 30, Some(25)),
            entry(2, 10, Some(35)),
            entry(3, 45, None),
        ],
    )];
    apply(&mut state, upload(Some(20), lists.clone()), 50);
    assert_eq!(items(&state, "p1"), vec![item(3)]);
    assert_eq!(apply(&mut state, upload(Some(20), lists), 50), vec![]);
}

#[test]
fn a_later_addition_stays_against_an_older_removal_uploaded_after_it() {
    let mut state = mix(&[1, 2, 3]);
    // Removed and added again at 30: recorded as the newer time, in its place.
    let again = vec![list("p1", 10, vec![entry(2, 30, Some(15))])];
    let events = apply(&mut state, upload(None, again), 40);
    assert_eq!(
        events.len(),
        3,
        "a removal, an addition, the order: {events:?}"
    );
    assert_eq!(items(&state, "p1"), vec![item(1), item(2), item(3)]);
    assert_eq!(added_at(&state, "p1", 2), Some(at(30)));
    for removal in [20, 30] {
        let older = vec![list("p1", 10, vec![entry(2, 10, Some(removal))])];
        assert_eq!(apply(&mut state, upload(None, older), 40), vec![]);
    }
    assert_eq!(items(&state, "p1"), vec![item(1), item(2), item(3)]);
}

#[test]
fn a_remembered_removal_keeps_an_older_addition_out_but_not_one_as_new() {
    let mut state = mix(&[1]);
    let removal = vec![list("p1", 10, vec![entry(1, 10, Some(20))])];
    apply(&mut state, upload(None, removal), 40);
    let older = vec![list("p1", 10, vec![entry(1, 15, None)])];
    assert_eq!(apply(&mut state, upload(None, older), 40), vec![]);
    let same_time = vec![list("p1", 10, vec![entry(1, 20, None)])];
    apply(&mut state, upload(None, same_time), 40);
    assert_eq!(
        items(&state, "p1"),
        vec![item(1)],
        "at the same time it stays"
    );
}

#[test]
fn a_newer_deletion_deletes_an_older_upload_does_not_create_it_again_a_newer_one_does() {
    let mut state = mix(&[1]);
    apply(&mut state, upload(None, vec![deleted("p1", 20)]), 40);
    assert!(state.playlists.is_empty());
    assert_eq!(state.deleted_playlists["p1"].deleted_at, at(20));
    let stale = upload(None, vec![named("p1", 15, "Old", vec![entry(1, 10, None)])]);
    apply(&mut state, stale, 40);
    assert!(state.playlists.is_empty(), "not made again");
    assert_eq!(
        state.deleted_playlists["p1"].last.name, "Old",
        "its newer name, if it is"
    );
    // Made again at 25, with an episode added at 22; episode 1 went with the deletion.
    let newer = vec![named(
        "p1",
        25,
        "New",
        vec![entry(1, 10, None), entry(2, 22, None)],
    )];
    apply(&mut state, upload(None, newer.clone()), 40);
    assert_eq!(state.playlists["p1"].name, "New");
    assert_eq!(items(&state, "p1"), vec![item(2)]);
    assert_eq!(apply(&mut state, upload(None, newer), 40), vec![]);
}

#[test]
fn a_deletion_older_than_a_change_leaves_the_playlist_with_what_was_added_after_it() {
    let mut state = mix(&[1]);
    apply(
        &mut state,
        upload(None, vec![list("p1", 10, vec![entry(2, 30, None)])]),
        40,
    );
    let deletion = upload(None, vec![deleted("p1", 20)]);
    let events = apply(&mut state, deletion.clone(), 40);
    assert!(
        matches!(events[0], EventPayload::PlaylistDeleted { .. }),
        "{events:?}"
    );
    assert!(
        matches!(events[1], EventPayload::PlaylistCreated { .. }),
        "{events:?}"
    );
    assert_eq!(
        items(&state, "p1"),
        vec![item(2)],
        "episode 1 went with it, 2 came after"
    );
    assert_eq!(state.playlists["p1"].name, "Mix");
    assert_eq!(apply(&mut state, deletion, 40), vec![]);
    // What was added before the deletion stays out; what was added after comes in.
    let late = vec![list("p1", 10, vec![entry(3, 15, None), entry(4, 25, None)])];
    apply(&mut state, upload(None, late), 40);
    assert_eq!(items(&state, "p1"), vec![item(2), item(4)]);
}

#[test]
fn where_the_server_knows_nothing_the_clients_change_wins_only_after_its_last_sync() {
    let mut state = UserState::default();
    let stale = upload(Some(20), vec![list("p1", 15, vec![entry(1, 15, None)])]);
    assert_eq!(apply(&mut state, stale, 40), vec![]);
    let stale_deletion = upload(Some(20), vec![deleted("p2", 15)]);
    assert_eq!(apply(&mut state, stale_deletion, 40), vec![]);
    // Changed since (an episode added at 25 is a change of it).
    let newer = upload(Some(20), vec![list("p1", 15, vec![entry(1, 25, None)])]);
    apply(&mut state, newer, 40);
    assert_eq!(items(&state, "p1"), vec![item(1)]);
}

/// A playlist as a record written before times were kept restores it.
fn legacy(ns: &[u32]) -> UserState {
    let mut state = UserState::default();
    let items = (ns.iter())
        .map(|n| PlaylistItem {
            feed: feed(*n),
            item: item(*n),
            added_at: None,
        })
        .collect();
    let playlist = Playlist {
        name: "Mix".into(),
        description: None,
        public: false,
        items,
        changed_at: None,
        removed: Default::default(),
        kept: KeptRemovals::Unknown,
    };
    state.playlists.insert("p1".into(), playlist);
    state
}

#[test]
fn a_playlist_restored_without_times_takes_the_clients_changes_after_its_last_sync() {
    let mut state = legacy(&[3, 4]);
    let lists = vec![named(
        "p1",
        15,
        "Old",
        vec![
            entry(1, 10, None),
            entry(2, 25, None),
            entry(3, 10, Some(15)),
            entry(4, 10, Some(25)),
        ],
    )];
    apply(&mut state, upload(Some(20), lists), 40);
    assert_eq!(state.playlists["p1"].name, "Mix");
    assert_eq!(items(&state, "p1"), vec![item(3), item(2)]);
    apply(&mut state, upload(Some(20), vec![deleted("p1", 25)]), 40);
    assert!(state.playlists.is_empty());
}

#[test]
fn the_oldest_removals_are_forgotten_beyond_the_bound_and_keep_older_additions_out() {
    let mut state = mix(&[]);
    let count = u32::try_from(MAX_REMOVED_ITEMS).expect("small") + 1;
    let added = (0..count).map(|n| entry(n + 100, 30, Some(31 + i64::from(n))));
    apply(
        &mut state,
        upload(None, vec![list("p1", 10, added.collect())]),
        200,
    );
    let playlist = &state.playlists["p1"];
    assert_eq!(playlist.removed.len(), MAX_REMOVED_ITEMS);
    assert!(!playlist.removed.contains_key(&item(100)));
    assert_eq!(playlist.kept, KeptRemovals::After(at(31)));
    let older = vec![list("p1", 10, vec![entry(100, 31, None)])];
    assert_eq!(apply(&mut state, upload(None, older), 200), vec![]);
    let newer = vec![list("p1", 10, vec![entry(100, 32, None)])];
    apply(&mut state, upload(None, newer), 200);
    assert_eq!(items(&state, "p1"), vec![item(100)]);
}

#[test]
fn the_oldest_deletions_are_forgotten_beyond_the_bound() {
    let mut state = UserState::default();
    let lists: Vec<_> = (0..=MAX_DELETED_PLAYLISTS)
        .map(|n| deleted(&format!("d{n}"), 10 + i64::try_from(n).expect("small")))
        .collect();
    apply(&mut state, upload(None, lists), 400);
    assert_eq!(state.deleted_playlists.len(), MAX_DELETED_PLAYLISTS);
    assert!(!state.deleted_playlists.contains_key("d0"));
    let older = upload(None, vec![deleted("x", 5)]);
    assert_eq!(apply(&mut state, older, 400), vec![], "forgotten at once");
}
