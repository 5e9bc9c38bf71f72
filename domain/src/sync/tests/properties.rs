//! Properties of the merge: idempotent, independent of the order of two devices' uploads (for
//! subscriptions and play statuses, whose times the state keeps), and never losing the newer side.

use super::apply;
use crate::testing::{arb_payload, arb_sync, arb_sync_play, arb_sync_subscription};
use crate::{Decision, UserState, decide, evolve};
use balados_schemas::{CommandEnvelope, CommandPayload, UserId};
use proptest::prelude::*;
use uuid::Uuid;

/// A user after an arbitrary stream of commands, syncs included; never a deleted one, who refuses
/// every sync (`crate::tests::account`).
pub(super) fn arb_state() -> impl Strategy<Value = UserState> {
    proptest::collection::vec((arb_payload(), 0i64..100), 0..30).prop_map(|stream| {
        let mut state = UserState::default();
        for (payload, at) in stream {
            if payload == (CommandPayload::DeleteAccount {}) {
                continue;
            }
            let command = CommandEnvelope {
                command_id: Uuid::new_v4(),
                user_id: UserId::parse("u").expect("valid"),
                occurred_at: crate::testing::at(at),
                received_at: crate::testing::at(at),
                app_id: None,
                device_id: None,
                device_name: None,
                reply_to: None,
                payload,
            };
            if let Decision::Accepted(events) = decide(&state, &command) {
                state = events.iter().fold(state, evolve);
            }
        }
        state
    })
}

/// What the merge decides, without the positions and sequences.
fn synced(state: &UserState) -> impl PartialEq + std::fmt::Debug {
    // The winner of each feed: whether subscribed and since when (the other time of the pair
    // may differ: a time that no longer decides anything is not recorded).
    let mut subs: Vec<_> = (state.subscriptions.iter())
        .map(|(f, s)| {
            (
                f.clone(),
                s.is_active(),
                s.subscribed_at.max(s.unsubscribed_at),
            )
        })
        .collect();
    subs.sort();
    let mut plays: Vec<_> = (state.episodes.iter())
        .map(|(i, e)| {
            (
                i.clone(),
                e.feed.clone(),
                e.updated_at,
                e.position,
                e.duration,
                e.played,
            )
        })
        .collect();
    plays.sort();
    // Not the collections: which hold a feed is history, not a merge rule (a feed taken out of
    // the default collection comes back when subscribed again, whichever upload did it).
    (subs, plays)
}

fn device(
    subscriptions: Vec<balados_schemas::SyncSubscription>,
    plays: Vec<balados_schemas::SyncPlay>,
) -> CommandPayload {
    CommandPayload::Sync {
        last_sync: None,
        subscriptions,
        plays,
        playlists: vec![],
    }
}

proptest! {
    #[test]
    fn the_same_sync_twice_changes_nothing_the_second_time(
        state in arb_state(),
        payload in arb_sync(),
    ) {
        let mut state = state;
        apply(&mut state, payload.clone(), 100);
        prop_assert_eq!(apply(&mut state, payload, 100), vec![]);
    }

    #[test]
    fn two_devices_uploads_give_the_same_result_in_either_order(
        state in arb_state(),
        subs_a in proptest::collection::vec(arb_sync_subscription(), 0..4),
        plays_a in proptest::collection::vec(arb_sync_play(), 0..4),
        subs_b in proptest::collection::vec(arb_sync_subscription(), 0..4),
        plays_b in proptest::collection::vec(arb_sync_play(), 0..4),
    ) {
        let (a, b) = (device(subs_a, plays_a), device(subs_b, plays_b));
        let mut ab = state.clone();
        apply(&mut ab, a.clone(), 100);
        apply(&mut ab, b.clone(), 100);
        let mut ba = state;
        apply(&mut ba, b, 100);
        apply(&mut ba, a, 100);
        prop_assert_eq!(synced(&ab), synced(&ba));
    }

    #[test]
    fn the_newer_side_is_never_lost(
        state in arb_state(),
        subs in proptest::collection::vec(arb_sync_subscription(), 0..4),
        plays in proptest::collection::vec(arb_sync_play(), 0..4),
    ) {
        let before = state.clone();
        let mut after = state;
        apply(&mut after, device(subs.clone(), plays.clone()), 100);
        let latest = |s: &crate::Subscription| s.subscribed_at.max(s.unsubscribed_at);
        for s in &subs {
            let kept = latest(&after.subscriptions.get(&s.feed).cloned().unwrap_or_default());
            prop_assert!(kept >= s.subscribed_at.max(s.unsubscribed_at), "the upload's or newer");
            let old = before.subscriptions.get(&s.feed).cloned().unwrap_or_default();
            prop_assert!(kept >= latest(&old), "never older than the server's");
        }
        for p in &plays {
            let id = crate::episode_actions::resolve(&before, &p.feed, &p.item);
            let kept = after.episodes.get(&id).and_then(|e| e.updated_at);
            prop_assert!(kept >= Some(p.updated_at), "the upload's time or a newer one");
            let old = before.episodes.get(&id).and_then(|e| e.updated_at);
            prop_assert!(kept >= old, "never older than the server's");
        }
    }
}
