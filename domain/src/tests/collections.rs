//! Collections and the default collection.

use super::*;

fn create(id: &str, title: &str) -> CommandEnvelope {
    command(
        CommandPayload::CreateCollection {
            collection_id: local(id),
            title: name(title),
            public: false,
        },
        0,
    )
}

fn add(id: &str, n: u32) -> CommandEnvelope {
    command(
        CommandPayload::AddCollectionFeed {
            collection_id: local(id),
            feed: feed(n),
        },
        0,
    )
}

fn move_feed(id: &str, n: u32, position: i64) -> CommandEnvelope {
    command(
        CommandPayload::MoveCollectionFeed {
            collection_id: local(id),
            feed: feed(n),
            position,
        },
        0,
    )
}

fn delete(id: &str) -> CommandEnvelope {
    command(
        CommandPayload::DeleteCollection {
            collection_id: local(id),
        },
        0,
    )
}

#[test]
fn the_first_subscription_creates_the_default_collection_holding_it() {
    let mut state = UserState::default();
    let d = run(&mut state, &subscribe(1, 0));
    assert_eq!(
        events(&d)[1..],
        [
            EventPayload::CollectionCreated {
                collection_id: DEFAULT_COLLECTION_ID.into(),
                title: "All Subscriptions".into(),
                is_default: true,
                public: false
            },
            EventPayload::CollectionFeedAdded {
                collection_id: DEFAULT_COLLECTION_ID.into(),
                feed: feed(1)
            }
        ]
    );
    run(&mut state, &subscribe(2, 1));
    assert_eq!(state.collections.len(), 1, "only one default collection");
    assert_eq!(
        state.collections[DEFAULT_COLLECTION_ID].feeds,
        vec![feed(1), feed(2)]
    );
}

#[test]
fn the_default_collection_cannot_be_deleted_nor_its_id_taken() {
    let mut state = UserState::default();
    run(&mut state, &subscribe(1, 0));
    assert_eq!(
        rejected(&run(&mut state, &delete(DEFAULT_COLLECTION_ID))),
        "cannot_delete_default_collection"
    );
    assert_eq!(
        rejected(&run(&mut state, &create(DEFAULT_COLLECTION_ID, "mine"))),
        "invalid_id"
    );
    assert!(state.collections[DEFAULT_COLLECTION_ID].is_default);
}

#[test]
fn only_subscribed_feeds_join_a_collection_and_leave_it_on_unsubscribe() {
    let mut state = UserState::default();
    run(&mut state, &create("c", "News"));
    assert_eq!(
        rejected(&run(&mut state, &add("c", 1))),
        "feed_not_subscribed"
    );
    run(&mut state, &subscribe(1, 1));
    assert_eq!(events(&run(&mut state, &add("c", 1))).len(), 1);
    assert!(
        events(&run(&mut state, &add("c", 1))).is_empty(),
        "already in"
    );
    let d = run(&mut state, &unsubscribe(1, 2));
    assert_eq!(
        events(&d)
            .iter()
            .filter(|e| matches!(e, EventPayload::CollectionFeedRemoved { .. }))
            .count(),
        2,
        "the feed leaves the default collection and \"c\""
    );
    assert!(state.collections["c"].feeds.is_empty());
}

#[test]
fn reorder_positions_must_be_within_bounds() {
    let mut state = UserState::default();
    for n in 1..=3 {
        run(&mut state, &subscribe(n, i64::from(n)));
    }
    let default = DEFAULT_COLLECTION_ID;
    assert_eq!(
        rejected(&run(&mut state, &move_feed(default, 1, 3))),
        "position_out_of_bounds"
    );
    assert_eq!(
        rejected(&run(&mut state, &move_feed(default, 1, -1))),
        "position_out_of_bounds"
    );
    assert_eq!(
        rejected(&run(&mut state, &move_feed(default, 9, 0))),
        "not_found"
    );
    assert!(events(&run(&mut state, &move_feed(default, 1, 0))).is_empty());
    assert_eq!(events(&run(&mut state, &move_feed(default, 1, 2))).len(), 1);
    assert_eq!(
        state.collections[default].feeds,
        vec![feed(2), feed(3), feed(1)]
    );
}

#[test]
fn unknown_collections_duplicates_titles_and_limits() {
    let mut state = UserState::default();
    assert_eq!(rejected(&run(&mut state, &delete("nope"))), "not_found");
    assert_eq!(rejected(&run(&mut state, &add("nope", 1))), "not_found");
    assert_eq!(
        rejected(&run(&mut state, &move_feed("nope", 1, 0))),
        "not_found"
    );
    run(&mut state, &create("c", "t"));
    assert_eq!(
        rejected(&run(&mut state, &create("c", "t"))),
        "already_exists"
    );
    let update = command(
        CommandPayload::UpdateCollection {
            collection_id: local("c"),
            title: Some(name("T2")),
            public: Some(true),
        },
        0,
    );
    assert_eq!(events(&run(&mut state, &update)).len(), 2);
    assert_eq!(events(&run(&mut state, &delete("c"))).len(), 1);
    for n in 0..MAX_COLLECTIONS {
        run(&mut state, &create(&format!("c{n}"), "t"));
    }
    assert_eq!(
        rejected(&run(&mut state, &create("last", "t"))),
        "limit_exceeded"
    );
}

#[test]
fn an_aggregate_from_before_collections_gets_its_default_collection_on_the_next_subscribe() {
    // State written by a version without collections: two active subscriptions, one ended.
    let mut state = UserState::default();
    for (n, active) in [(2, true), (1, true), (3, false)] {
        state.subscriptions.insert(
            feed(n),
            Subscription {
                subscribed_at: Some(t(0)),
                unsubscribed_at: (!active).then(|| t(1)),
                ..Default::default()
            },
        );
    }
    let d = run(&mut state, &subscribe(1, 5));
    assert!(
        subscription_events(&d).is_empty(),
        "already subscribed: nothing changes but the repair"
    );
    assert_eq!(
        state.collections[DEFAULT_COLLECTION_ID].feeds,
        vec![feed(2), feed(1)],
        "every active subscription, the others in order, the requested one last"
    );
    assert!(state.collections[DEFAULT_COLLECTION_ID].is_default);
}
