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
    /// Whatever the stream: decisions are deterministic, sequences contiguous from 1 (from 1
    /// again after an account deletion), and the aggregate's invariants hold after every command.
    #[test]
    fn any_stream_keeps_the_invariants(
        stream in proptest::collection::vec((arb_payload(), 0i64..100), 1..80)
    ) {
        let mut state = UserState::default();
        let mut sequence = 0;
        for (payload, at) in stream {
            let cmd = command(payload, at);
            prop_assert_eq!(decide(&state, &cmd), decide(&state, &cmd));
            if let Decision::Accepted(evs) = run(&mut state, &cmd) {
                for e in evs {
                    sequence += 1;
                    prop_assert_eq!(e.sequence, sequence);
                    if e.payload == (EventPayload::AccountDeleted {}) {
                        sequence = 0;
                    }
                }
            }
            if cmd.payload == (CommandPayload::DeleteAccount {}) {
                prop_assert_eq!(&state, &UserState::default(), "nothing left of a deleted user");
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
                let items: Vec<_> = p.items.iter().map(|(_, i)| i).collect();
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
