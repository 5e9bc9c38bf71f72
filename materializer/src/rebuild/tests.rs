//! The per-user rows the rebuild makes of state records.

use super::from_records;
use balados_schemas::{FeedUrl, StateEntity, StateKey, UserId};

fn meta(deleted: bool) -> StateEntity {
    StateEntity::Meta {
        sequence: 7,
        recent_commands: vec![],
        events_offset: Some(3),
        sync_position: 1_700_000_000,
        deleted,
    }
}

#[test]
fn a_deleted_user_gets_no_row_not_even_positions() {
    let (gone, here) = (
        UserId::parse("gone").expect("valid"),
        UserId::parse("here").expect("valid"),
    );
    let feed = FeedUrl::parse("https://example.com/feed.xml").expect("valid");
    let records = vec![
        (StateKey::Meta(gone.clone()), Some(meta(true))),
        (StateKey::Subscription(gone, feed), None),
        (StateKey::Meta(here), Some(meta(false))),
    ];
    let changes = from_records(records.into_iter());
    let users: Vec<&str> = changes.positions.keys().map(String::as_str).collect();
    assert_eq!(users, vec!["here"], "the live user's positions only");
    assert_eq!(changes.positions["here"].per_user, 7);
    assert!(changes.per_user.subscriptions.is_empty());
}
