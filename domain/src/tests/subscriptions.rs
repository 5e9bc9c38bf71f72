//! Subscribe and unsubscribe.

use super::*;
use chrono::TimeDelta;
use proptest::prelude::*;

#[test]
fn the_first_command_of_a_user_creates_the_aggregate() {
    let mut state = UserState::default();
    let d = run(&mut state, &subscribe(1, 0));
    assert_eq!(
        subscription_events(&d),
        vec![EventPayload::Subscribed {
            feed: feed(1),
            source_id: None,
            subscribed_at: t(0)
        }]
    );
    assert_eq!(state.sequence, 3);
    assert!(state.subscriptions[&feed(1)].is_active());
}

#[test]
fn a_first_unsubscribe_is_accepted_and_changes_nothing() {
    let mut state = UserState::default();
    assert!(subscription_events(&run(&mut state, &unsubscribe(1, 0))).is_empty());
    assert_eq!(state.sequence, 0);
}

#[test]
fn subscribe_then_unsubscribe_deactivates() {
    let mut state = UserState::default();
    run(&mut state, &subscribe(1, 0));
    let d = run(&mut state, &unsubscribe(1, 10));
    assert_eq!(
        subscription_events(&d),
        vec![EventPayload::Unsubscribed {
            feed: feed(1),
            unsubscribed_at: t(10)
        }]
    );
    assert!(!state.subscriptions[&feed(1)].is_active());
    assert_eq!(state.sequence, 5);
}

#[test]
fn a_repeated_command_id_returns_the_original_outcome_and_emits_nothing() {
    let mut state = UserState::default();
    let cmd = subscribe(1, 0);
    run(&mut state, &cmd);
    match decide(&state, &cmd) {
        Decision::Duplicate(previous) => {
            assert_eq!((previous.first_sequence, previous.event_count), (1, 3))
        }
        other => panic!("expected a duplicate, got {other:?}"),
    }
}

#[test]
fn subscribing_twice_emits_once() {
    let mut state = UserState::default();
    run(&mut state, &subscribe(1, 0));
    assert!(subscription_events(&run(&mut state, &subscribe(1, 5))).is_empty());
    assert_eq!(state.sequence, 3);
}

#[test]
fn a_subscribe_older_than_the_last_unsubscribe_is_stale() {
    let mut state = UserState::default();
    run(&mut state, &subscribe(1, 0));
    run(&mut state, &unsubscribe(1, 100));
    assert!(
        subscription_events(&run(&mut state, &subscribe(1, 50))).is_empty(),
        "an older device's subscribe loses"
    );
    assert!(!state.subscriptions[&feed(1)].is_active());
    assert_eq!(
        subscription_events(&run(&mut state, &subscribe(1, 100))).len(),
        1,
        "a tie keeps subscribed"
    );
    assert!(state.subscriptions[&feed(1)].is_active());
}

#[test]
fn an_unsubscribe_older_than_the_subscription_is_stale() {
    let mut state = UserState::default();
    run(&mut state, &subscribe(1, 100));
    assert!(subscription_events(&run(&mut state, &unsubscribe(1, 50))).is_empty());
    assert!(state.subscriptions[&feed(1)].is_active());
}

#[test]
fn client_times_too_far_in_the_future_are_clamped_to_reception() {
    let mut cmd = subscribe(1, 0);
    cmd.occurred_at = cmd.received_at + MAX_CLOCK_SKEW + TimeDelta::seconds(1);
    let d = decide(&UserState::default(), &cmd);
    assert_eq!(
        subscription_events(&d),
        vec![EventPayload::Subscribed {
            feed: feed(1),
            source_id: None,
            subscribed_at: t(0)
        }]
    );
    let mut within = subscribe(1, 0);
    within.occurred_at = within.received_at + MAX_CLOCK_SKEW;
    let Decision::Accepted(evs) = decide(&UserState::default(), &within) else {
        panic!("accepted")
    };
    assert_eq!(evs[0].occurred_at, within.occurred_at);
}

#[test]
fn the_subscription_limit_is_a_clear_rejection() {
    let mut state = UserState::default();
    for n in 0..u32::try_from(MAX_SUBSCRIPTIONS).expect("small") {
        state.subscriptions.insert(
            feed(n),
            super::Subscription {
                subscribed_at: Some(t(0)),
                ..Default::default()
            },
        );
    }
    match decide(&state, &subscribe(999_999, 1)) {
        Decision::Rejected(r) => assert_eq!(r.code.as_str(), "limit_exceeded"),
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert!(
        matches!(decide(&state, &subscribe(0, 1)), Decision::Accepted(_)),
        "an active feed is not a new one"
    );
}

#[test]
fn recent_commands_are_bounded() {
    let mut state = UserState::default();
    for i in 0..(RECENT_COMMANDS + 10) {
        run(&mut state, &subscribe(u32::try_from(i).expect("small"), 0));
    }
    assert_eq!(state.recent.len(), RECENT_COMMANDS);
}

#[test]
fn event_ids_derive_from_the_command_id() {
    let cmd = subscribe(1, 0);
    let (Decision::Accepted(a), Decision::Accepted(b)) = (
        decide(&UserState::default(), &cmd),
        decide(&UserState::default(), &cmd),
    ) else {
        panic!("accepted")
    };
    assert_eq!(a, b);
    assert_ne!(a[0].event_id, cmd.command_id);
}

proptest! {
    /// Whatever the commands, sequences are contiguous from 1, decisions are deterministic, and
    /// the active set equals a last-writer-wins replay of the effective commands.
    #[test]
    fn sequences_are_contiguous_and_decisions_deterministic(
        ops in proptest::collection::vec((any::<bool>(), 0u32..4, 0i64..50), 1..60)
    ) {
        let mut state = UserState::default();
        let mut expected_seq = 0;
        for (sub, n, at) in ops {
            let cmd = if sub { subscribe(n, at) } else { unsubscribe(n, at) };
            let again = decide(&state, &cmd);
            let decision = run(&mut state, &cmd);
            prop_assert_eq!(&decision, &again);
            if let Decision::Accepted(evs) = decision {
                for e in evs {
                    expected_seq += 1;
                    prop_assert_eq!(e.sequence, expected_seq);
                }
            }
            prop_assert_eq!(state.sequence, expected_seq);
        }
    }
}

/// A list is one state record: its URLs are bounded in bytes so that the record fits a broker's
/// 1 MB limit, whatever the count limits allow.
#[test]
fn a_list_is_bounded_in_bytes_so_that_its_record_fits() {
    use crate::decide::MAX_LIST_BYTES;
    let long = |n: usize| {
        balados_schemas::FeedUrl::parse(&format!("https://e.com/{}/{n:05}.xml", "a".repeat(1300)))
            .expect("valid")
    };
    let per_feed = long(0).as_str().len();
    let mut state = UserState::default();
    run(&mut state, &subscribe(1, 0));
    let mut n = 0;
    while state.default_collection().expect("default").1.bytes() + per_feed <= MAX_LIST_BYTES {
        n += 1;
        let cmd = command(
            CommandPayload::Subscribe {
                feed: long(n),
                source_id: None,
            },
            1,
        );
        assert!(
            matches!(run(&mut state, &cmd), Decision::Accepted(_)),
            "feed {n}"
        );
    }
    let over = command(
        CommandPayload::Subscribe {
            feed: long(n + 1),
            source_id: None,
        },
        2,
    );
    assert_eq!(rejected(&run(&mut state, &over)), "limit_exceeded");
    let bytes = state.default_collection().expect("default").1.bytes();
    assert!(bytes <= MAX_LIST_BYTES, "{bytes}");
    // A short feed still fits in what is left.
    assert!(matches!(
        run(&mut state, &subscribe(2, 3)),
        Decision::Accepted(_)
    ));
}
