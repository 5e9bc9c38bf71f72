//! Properties over arbitrary streams of commands of every kind, on a few ids so that they meet.

use super::*;
use crate::testing::arb_payload;
use proptest::prelude::*;

fn unique<T: PartialEq>(items: &[T]) -> bool {
    items
        .iter()
        .enumerate()
        .all(|(i, x)| !items[..i].contains(x))
}

proptest! {
    /// Whatever the stream: decisions are deterministic, sequences contiguous from 1 and none
    /// after an account deletion, and the aggregate's invariants hold after every command.
    #[test]
    fn any_stream_keeps_the_invariants(
        stream in proptest::collection::vec((arb_payload(), 0i64..100), 1..80)
    ) {
        let mut state = UserState::default();
        let mut sequence = 0;
        for (payload, at) in stream {
            let cmd = command(payload, at);
            let was_deleted = state.deleted;
            prop_assert_eq!(decide(&state, &cmd), decide(&state, &cmd));
            if let Decision::Accepted(evs) = run(&mut state, &cmd) {
                prop_assert!(!was_deleted || evs.is_empty(), "an event after the deletion");
                for e in evs {
                    sequence += 1;
                    prop_assert_eq!(e.sequence, sequence);
                }
            }
            if cmd.payload == (CommandPayload::DeleteAccount {}) {
                prop_assert!(state.deleted);
            }
            if state.deleted {
                prop_assert!(state.subscriptions.is_empty() && state.episodes.is_empty());
                prop_assert!(state.playlists.is_empty() && state.deleted_playlists.is_empty());
                prop_assert!(state.collections.is_empty() && state.privacy.is_empty());
                prop_assert!(state.devices.is_empty(), "nothing left of a deleted user");
            }
            prop_assert_eq!(state.sequence, sequence);
            let defaults = state.collections.values().filter(|c| c.is_default).count();
            prop_assert!(defaults <= 1, "one default collection at most");
            if state.subscriptions.values().any(|s| s.subscribed_at.is_some()) {
                prop_assert_eq!(defaults, 1, "created with the first subscription, never deleted");
            }
            for c in state.collections.values() {
                prop_assert!(unique(&c.feeds));
                prop_assert!(c.feeds.iter().all(|f| state.is_subscribed(f)), "only subscribed feeds");
            }
            for p in state.playlists.values() {
                let items: Vec<_> = p.items.iter().map(|i| &i.item).collect();
                prop_assert!(unique(&items));
                prop_assert!(!p.name.trim().is_empty());
            }
            for e in state.episodes.values() {
                prop_assert!(e.duration.is_none_or(|d| e.position <= d));
                prop_assert!(e.updated_at.is_some() || e.saved_at.is_some(), "nothing tracked for nothing");
            }
        }
    }
}

proptest! {
    /// Sync positions, whatever the stream and however the clock moves (even backwards): unique and
    /// increasing per user, never behind the command's reception time, and the subscription or
    /// episode an event changed carries its position.
    #[test]
    fn sync_positions_increase_and_follow_the_clock(
        stream in proptest::collection::vec((arb_payload(), 0i64..100), 1..80)
    ) {
        let mut state = UserState::default();
        let mut last = 0i64;
        for (payload, at) in stream {
            let cmd = command(payload, at);
            if let Decision::Accepted(evs) = run(&mut state, &cmd) {
                for e in &evs {
                    prop_assert!(e.sync_position >= cmd.received_at.timestamp());
                    prop_assert!(e.sync_position > last, "{} after {}", e.sync_position, last);
                    last = e.sync_position;
                    match &e.payload {
                        EventPayload::Subscribed { feed, .. } | EventPayload::Unsubscribed { feed, .. } => {
                            let sub = state.subscriptions.get(feed);
                            prop_assert!(sub.is_none_or(|s| s.sync_position >= e.sync_position));
                        }
                        _ => {}
                    }
                }
                if let Some(e) = evs.last() {
                    prop_assert_eq!(state.sync_position, e.sync_position);
                }
            }
        }
    }
}

#[test]
fn a_burst_runs_ahead_of_the_clock_and_the_clock_catches_up() {
    let mut state = UserState::default();
    let mut positions = Vec::new();
    for (n, at) in [(1, 0), (2, 0), (3, 0), (4, 10)] {
        if let Decision::Accepted(evs) = run(&mut state, &subscribe(n, at)) {
            positions.extend(evs.iter().map(|e| e.sync_position - t(0).timestamp()));
        }
    }
    // A subscription also files the feed in the default collection (and the first creates it):
    // the three commands of second 0 take positions 0 to 6, the command of second 10 starts at 10.
    assert_eq!(
        positions,
        vec![0, 1, 2, 3, 4, 5, 6, 10, 11],
        "unique, then the clock again"
    );
    assert!((10..=11).contains(&(state.subscriptions[&feed(4)].sync_position - t(0).timestamp())));
}
