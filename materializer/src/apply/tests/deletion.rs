//! `AccountDeleted` in the fold: the user's rows and public events go, the stream starts again.

use super::*;

fn deleted(user: &str, sequence: u64) -> EventEnvelope {
    event(user, sequence, EventPayload::AccountDeleted {})
}

/// An event of the user's next life: sequences start again, event ids do not repeat.
fn reborn(mut event: EventEnvelope) -> EventEnvelope {
    event.event_id = uuid::Uuid::from_u128(event.event_id.as_u128() | 1 << 100);
    event
}

#[test]
fn a_deletion_drops_the_users_changes_and_their_next_life_starts_at_one() {
    let events = [
        played("a", 6, 1),
        subscribed("b", 3),
        deleted("a", 7),
        reborn(subscribed("a", 1)),
    ];
    let changes = fold(
        &events,
        positions(&[("a", 5, 5), ("b", 2, 2)]),
        GRACE,
        OnGap::Hold,
    );
    assert_eq!(changes.deleted, BTreeSet::from(["a".to_owned()]));
    assert!(
        changes.per_user.episodes.is_empty(),
        "the play before the deletion is not written"
    );
    let subscribers: Vec<&str> = changes
        .per_user
        .subscriptions
        .keys()
        .map(|(u, _)| u.as_str())
        .collect();
    assert_eq!(subscribers, vec!["a", "b"], "a's new life, and b untouched");
    let one = Positions {
        sync: 0,
        per_user: 1,
        public: 1,
    };
    assert_eq!(changes.positions["a"], one);
    assert_eq!(changes.positions["b"].per_user, 3);
    assert!(changes.gaps.is_empty());
}

#[test]
fn a_deletion_withdraws_every_public_event_of_the_user_and_its_points() {
    let first = run(&[played("a", 1, 1), played("a", 2, 2), played("b", 1, 1)]);
    let loaded = Loaded {
        positions: first.positions.clone().into_iter().collect(),
        earlier: HashMap::from([(
            "a".to_owned(),
            stored(&first)
                .into_iter()
                .filter(|r| r.user_id.as_deref() == Some("a"))
                .collect(),
        )]),
        ..Loaded::default()
    };
    let changes = fold(
        &[played("a", 3, 3), deleted("a", 4)],
        loaded,
        GRACE,
        OnGap::Hold,
    );
    assert_eq!(changes.public.withdrawn.len(), 2, "both earlier events");
    assert!(
        changes.public.inserts.is_empty(),
        "nor the one of the batch"
    );
    assert!(
        changes.public.counted.is_empty(),
        "no key of a deleted user"
    );
    let total: i64 = changes.public.podcasts.values().map(|(_, c)| c.score).sum();
    assert_eq!(
        total, -10,
        "the earlier points taken back, the batch's netted out"
    );
    assert!(
        changes.public.outbox().count() >= 2,
        "withdrawals are relayed"
    );
}

#[test]
fn a_deletion_applies_whatever_the_position_and_releases_a_hold() {
    let loaded = Loaded {
        held: HashSet::from(["a".to_owned()]),
        ..positions(&[("a", 10, 10)])
    };
    let events = [
        subscribed("a", 12),
        deleted("a", 3),
        reborn(subscribed("a", 1)),
    ];
    let changes = fold(&events, loaded, GRACE, OnGap::Hold);
    assert_eq!(changes.held, 1, "the event before the deletion stays held");
    assert_eq!(changes.applied, 2);
    assert_eq!(changes.positions["a"].per_user, 1);
    assert_eq!(changes.per_user.subscriptions.len(), 1);
}

#[test]
fn a_copy_of_a_deletion_deletes_nothing_more() {
    let changes = run(&[played("a", 1, 1), deleted("a", 2), deleted("a", 2)]);
    assert_eq!(changes.deleted, BTreeSet::from(["a".to_owned()]));
    assert_eq!(changes.positions["a"], Positions::default());
    assert!(changes.per_user.episodes.is_empty() && changes.public.inserts.is_empty());
    assert!(changes.public.podcasts.values().all(|(_, c)| c.is_zero()));
}
