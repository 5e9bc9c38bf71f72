//! Deleting an account: one event, nothing left of the user afterwards, and every later command of
//! theirs refused (a repeated deletion aside).

use super::*;
use balados_schemas::{DeviceId, Privacy, RejectionCode, Scope};

fn delete(at: i64) -> CommandEnvelope {
    command(CommandPayload::DeleteAccount {}, at)
}

/// A user with something in every area.
fn busy_user() -> UserState {
    let mut state = UserState::default();
    for cmd in [
        subscribe(1, 0),
        command(
            CommandPayload::RecordPlay {
                feed: feed(1),
                item: item(1),
                position: secs(30),
                duration: Some(secs(600)),
                played: false,
            },
            1,
        ),
        command(
            CommandPayload::CreatePlaylist {
                playlist_id: local("p"),
                name: name("Later"),
                description: None,
                public: true,
            },
            2,
        ),
        command(
            CommandPayload::ChangePrivacy {
                scope: Scope::Global,
                privacy: Privacy::Anonymous,
            },
            3,
        ),
        command(
            CommandPayload::UpsertDevice {
                device_id: DeviceId::parse("phone").expect("valid"),
                caption: None,
                kind: None,
            },
            4,
        ),
    ] {
        assert!(matches!(run(&mut state, &cmd), Decision::Accepted(_)));
    }
    state
}

#[test]
fn deleting_an_account_emits_one_event_after_the_users_last() {
    let state = busy_user();
    let Decision::Accepted(events) = decide(&state, &delete(5)) else {
        panic!("a deletion is always accepted");
    };
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].payload, EventPayload::AccountDeleted {});
    assert_eq!(events[0].sequence, state.sequence + 1);
}

#[test]
fn a_deleted_user_keeps_nothing_but_where_their_stream_ended() {
    let mut state = busy_user();
    let last = state.sequence;
    run(&mut state, &delete(5));
    assert!(state.deleted);
    assert_eq!(state.sequence, last + 1, "the deletion's own sequence");
    let emptied = UserState {
        deleted: true,
        sequence: state.sequence,
        sync_position: state.sync_position,
        recent: state.recent.clone(),
        ..UserState::default()
    };
    assert_eq!(state, emptied);
}

#[test]
fn a_user_with_nothing_can_be_deleted_too() {
    let mut state = UserState::default();
    let d = run(&mut state, &delete(0));
    assert_eq!(events(&d), vec![EventPayload::AccountDeleted {}]);
    assert!(state.deleted && state.subscriptions.is_empty());
    assert_eq!(state.sequence, 1);
}

proptest::proptest! {
    /// Whatever comes after the deletion: every command is refused, a repeated deletion is
    /// accepted without an event, and the state stays as the deletion left it.
    #[test]
    fn every_later_command_of_a_deleted_user_is_refused_and_changes_nothing(
        later in proptest::collection::vec((crate::testing::arb_payload(), 6i64..100), 1..20)
    ) {
        let mut state = busy_user();
        run(&mut state, &delete(5));
        let deleted = state.clone();
        for (payload, at) in later {
            let d = run(&mut state, &command(payload.clone(), at));
            if payload == (CommandPayload::DeleteAccount {}) {
                proptest::prop_assert_eq!(events(&d), vec![]);
            } else {
                proptest::prop_assert_eq!(rejected(&d), "account_deleted", "{:?}", payload);
            }
            proptest::prop_assert_eq!(&state, &deleted, "{:?} changed the state", payload);
        }
    }
}

#[test]
fn a_deleted_users_command_is_refused_with_its_own_code() {
    let mut state = busy_user();
    run(&mut state, &delete(5));
    let Decision::Rejected(r) = decide(&state, &subscribe(2, 6)) else {
        panic!("refused")
    };
    assert_eq!(r.code, RejectionCode::AccountDeleted);
    assert_eq!(r.message, "this account was deleted");
}

#[test]
fn a_repeated_deletion_is_accepted_with_nothing_to_do() {
    let mut state = busy_user();
    run(&mut state, &delete(5));
    let deleted = state.clone();
    assert_eq!(events(&run(&mut state, &delete(6))), vec![]);
    assert_eq!(state, deleted);
}

#[test]
fn a_retry_of_a_command_decided_before_the_deletion_gets_its_first_answer() {
    let mut state = busy_user();
    let before = subscribe(2, 5);
    let first = run(&mut state, &before);
    let deletion = delete(6);
    run(&mut state, &deletion);
    let Decision::Accepted(evs) = first else {
        panic!("accepted: {first:?}")
    };
    for (cmd, sequence, count) in [
        (&before, evs[0].sequence, evs.len()),
        (&deletion, state.sequence, 1),
    ] {
        let Decision::Duplicate(previous) = decide(&state, cmd) else {
            panic!("a duplicate: {cmd:?}")
        };
        assert_eq!(previous.rejection_code, None);
        assert_eq!(
            (previous.first_sequence, previous.event_count),
            (sequence, u32::try_from(count).expect("small"))
        );
    }
}
