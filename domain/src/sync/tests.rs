//! The merge rules of a sync, one test per rule, then their properties.

mod playlist_properties;
mod playlists;
mod properties;

use crate::testing::{at, feed, item, local, name, secs};
use crate::{Decision, UserState, decide, evolve};
use balados_schemas::{
    CommandEnvelope, CommandPayload, EventPayload, SyncPlay, SyncPlaylist, SyncPlaylistItem,
    SyncSubscription, UserId,
};
use chrono::{DateTime, Utc};
use uuid::Uuid;

pub(super) fn sync(
    last_sync: Option<i64>,
    subscriptions: Vec<SyncSubscription>,
    plays: Vec<SyncPlay>,
    playlists: Vec<SyncPlaylist>,
) -> CommandPayload {
    CommandPayload::Sync {
        last_sync: last_sync.map(|s| at(s).timestamp()),
        subscriptions,
        plays,
        playlists,
    }
}

/// Decides `payload` received at `at(received)` and applies its events; returns them.
pub(super) fn apply(
    state: &mut UserState,
    payload: CommandPayload,
    received: i64,
) -> Vec<EventPayload> {
    let command = CommandEnvelope {
        command_id: Uuid::new_v4(),
        user_id: UserId::parse("u").expect("valid"),
        occurred_at: at(received),
        received_at: at(received),
        app_id: None,
        device_id: None,
        device_name: None,
        reply_to: None,
        payload,
    };
    let Decision::Accepted(events) = decide(state, &command) else {
        panic!("a sync is always accepted");
    };
    *state = events.iter().fold(std::mem::take(state), evolve);
    events.into_iter().map(|e| e.payload).collect()
}

fn sub(n: u32, s: Option<i64>, u: Option<i64>) -> SyncSubscription {
    SyncSubscription {
        feed: feed(n),
        subscribed_at: s.map(at),
        unsubscribed_at: u.map(at),
    }
}

fn play(n: u32, position: i64, played: bool, updated: i64) -> SyncPlay {
    SyncPlay {
        feed: feed(n),
        item: item(n),
        position: secs(position),
        duration: Some(secs(600)),
        played,
        updated_at: at(updated),
        reset: false,
    }
}

pub(super) fn list(p: &str, updated: i64, items: Vec<SyncPlaylistItem>) -> SyncPlaylist {
    SyncPlaylist {
        playlist_id: local(p),
        name: name("Mix"),
        updated_at: at(updated),
        deleted_at: None,
        items,
    }
}

pub(super) fn entry(n: u32, added: i64, removed: Option<i64>) -> SyncPlaylistItem {
    SyncPlaylistItem {
        feed: feed(n),
        item: item(n),
        added_at: at(added),
        removed_at: removed.map(at),
    }
}

fn updated_at(state: &UserState, n: u32) -> Option<DateTime<Utc>> {
    state.episodes.get(&item(n)).and_then(|e| e.updated_at)
}

#[test]
fn the_later_subscription_time_wins_and_a_tie_keeps_subscribed() {
    let mut state = UserState::default();
    apply(
        &mut state,
        sync(None, vec![sub(1, Some(10), None)], vec![], vec![]),
        50,
    );
    assert!(state.is_subscribed(&feed(1)));
    assert!(
        state
            .default_collection()
            .is_some_and(|(_, c)| c.feeds == [feed(1)])
    );
    // Another device unsubscribed later: it wins, and the feed leaves its collections.
    apply(
        &mut state,
        sync(None, vec![sub(1, Some(5), Some(20))], vec![], vec![]),
        50,
    );
    assert!(!state.is_subscribed(&feed(1)));
    assert!(
        state
            .default_collection()
            .is_some_and(|(_, c)| c.feeds.is_empty())
    );
    // A subscription at the same time as the unsubscription keeps it.
    apply(
        &mut state,
        sync(None, vec![sub(1, Some(20), None)], vec![], vec![]),
        50,
    );
    assert!(state.is_subscribed(&feed(1)));
    assert!(
        state
            .default_collection()
            .is_some_and(|(_, c)| c.feeds == [feed(1)])
    );
}

#[test]
fn a_stale_subscription_upload_changes_nothing() {
    let mut state = UserState::default();
    apply(
        &mut state,
        sync(None, vec![sub(1, Some(10), Some(30))], vec![], vec![]),
        50,
    );
    let stale = sync(None, vec![sub(1, Some(20), None)], vec![], vec![]);
    assert_eq!(apply(&mut state, stale, 50), vec![]);
    let stale = sync(None, vec![sub(1, Some(5), Some(8))], vec![], vec![]);
    assert_eq!(apply(&mut state, stale, 50), vec![]);
    assert!(!state.is_subscribed(&feed(1)));
}

#[test]
fn a_newer_play_wins_and_a_stale_one_changes_nothing() {
    let mut state = UserState::default();
    apply(
        &mut state,
        sync(None, vec![], vec![play(1, 100, false, 20)], vec![]),
        50,
    );
    assert_eq!(
        updated_at(&state, 1),
        Some(at(20)),
        "the client's own time is kept"
    );
    let stale = sync(None, vec![], vec![play(1, 300, false, 10)], vec![]);
    assert_eq!(apply(&mut state, stale, 50), vec![]);
    apply(
        &mut state,
        sync(None, vec![], vec![play(1, 400, false, 30)], vec![]),
        50,
    );
    assert_eq!(state.episodes[&item(1)].position, 400);
}

#[test]
fn an_explicit_reset_wins_over_played_and_played_breaks_a_tie() {
    let mut state = UserState::default();
    apply(
        &mut state,
        sync(None, vec![], vec![play(1, 100, false, 20)], vec![]),
        50,
    );
    apply(
        &mut state,
        sync(None, vec![], vec![play(1, 600, true, 20)], vec![]),
        50,
    );
    assert!(
        state.episodes[&item(1)].played,
        "played beats unplayed at the same time"
    );
    let reset = SyncPlay {
        reset: true,
        ..play(1, 250, true, 20)
    };
    apply(
        &mut state,
        sync(None, vec![], vec![reset.clone()], vec![]),
        50,
    );
    let e = &state.episodes[&item(1)];
    assert_eq!((e.played, e.position), (false, 0), "a reset wins");
    assert_eq!(
        apply(&mut state, sync(None, vec![], vec![reset], vec![]), 50),
        vec![]
    );
}

#[test]
fn a_position_beyond_the_duration_is_clamped_and_a_future_time_too() {
    let mut state = UserState::default();
    apply(
        &mut state,
        sync(None, vec![], vec![play(1, 900, false, 10_000)], vec![]),
        50,
    );
    let e = &state.episodes[&item(1)];
    assert_eq!(e.position, 600);
    assert_eq!(
        e.updated_at,
        Some(at(50)),
        "more than 5 minutes ahead: the reception time"
    );
}

#[test]
fn what_exceeds_a_limit_is_left_out_and_the_rest_applies() {
    let mut state = UserState::default();
    let lists = (0..=crate::MAX_PLAYLISTS)
        .map(|n| list(&format!("p{n}"), 10, vec![]))
        .collect();
    let plays = vec![play(1, 10, false, 10)];
    apply(&mut state, sync(None, vec![], plays, lists), 50);
    assert_eq!(state.playlists.len(), crate::MAX_PLAYLISTS);
    assert!(state.episodes.contains_key(&item(1)));
}
