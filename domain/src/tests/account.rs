//! Deleting an account: one event, and nothing left of the user afterwards.

use super::*;
use balados_schemas::{DeviceId, Privacy, Scope};

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
fn a_deleted_user_is_an_empty_state() {
    let mut state = busy_user();
    run(&mut state, &delete(5));
    assert_eq!(state, UserState::default());
}

#[test]
fn a_user_with_nothing_can_be_deleted_too() {
    let mut state = UserState::default();
    let d = run(&mut state, &delete(0));
    assert_eq!(events(&d), vec![EventPayload::AccountDeleted {}]);
    assert_eq!(state, UserState::default());
}

#[test]
fn a_deleted_user_who_comes_back_starts_from_nothing() {
    let mut state = busy_user();
    run(&mut state, &delete(5));
    let d = run(&mut state, &subscribe(2, 6));
    let Decision::Accepted(evs) = &d else {
        panic!("accepted: {d:?}")
    };
    assert_eq!(evs[0].sequence, 1, "the sequence starts again");
    assert!(
        evs.iter().any(|e| matches!(
            &e.payload,
            EventPayload::CollectionCreated {
                is_default: true,
                ..
            }
        )),
        "the first subscription creates the default collection again: {evs:?}"
    );
    assert_eq!(state.subscriptions.len(), 1);
    assert!(state.episodes.is_empty() && state.playlists.is_empty());
    assert!(state.privacy.is_empty() && state.devices.is_empty());
}
