//! Deleting an account: what `AccountDeleted` does to the user's state records and to the state
//! held in memory.
//!
//! Every entity record of the user gets a tombstone, so that a restore, and the rebuild, find
//! nothing of theirs; the meta record is kept, marked `deleted`, with the deletion's sequence
//! and where it landed in `events`. A user id is never given out again (the account stays as a
//! nameless husk), and a request being served when the account was deleted may still send
//! commands: the aggregate refuses them (`account_deleted`), and a repeated deletion is accepted
//! with nothing to do. Neither writes anything, so a deleted user's records never change again.
//!
//! The materializer takes `AccountDeleted` as the end of the user's stream (their positions go
//! with their rows, `balados_materializer::apply`): exact only if no copy of an event from before
//! the deletion can follow it. Copies come from a failed batch being written again from the
//! committed offsets; so a `DeleteAccount` is still decided in a batch of its own (`batch.rs`):
//! whatever is written again around a deletion is the deletion alone.

use balados_domain::UserState;
use balados_schemas::{CommandEnvelope, CommandPayload, EventEnvelope, EventPayload};
use balados_schemas::{StateKey, UserId};
use std::collections::HashMap;

use crate::store::StateWrite;

/// Whether `command` deletes its user's account (and is decided in a batch of its own).
pub fn is_deletion(command: &CommandEnvelope) -> bool {
    matches!(command.payload, CommandPayload::DeleteAccount { .. })
}

/// Whether the events delete their user's account.
pub fn deletes_account(events: &[EventEnvelope]) -> bool {
    events
        .iter()
        .any(|e| matches!(e.payload, EventPayload::AccountDeleted { .. }))
}

/// Every key under which `state` has an entity record (every record but the meta record).
pub fn entity_keys(state: &UserState, user: &UserId) -> Vec<StateKey> {
    let u = || user.clone();
    let mut keys = Vec::new();
    keys.extend(
        state
            .subscriptions
            .keys()
            .map(|f| StateKey::Subscription(u(), f.clone())),
    );
    keys.extend(
        state
            .episodes
            .keys()
            .map(|i| StateKey::Episode(u(), i.clone())),
    );
    keys.extend(
        (state.playlists.keys())
            .chain(state.deleted_playlists.keys())
            .map(|p| StateKey::Playlist(u(), p.clone())),
    );
    keys.extend(
        state
            .collections
            .keys()
            .map(|c| StateKey::Collection(u(), c.clone())),
    );
    keys.extend(
        state
            .privacy
            .keys()
            .map(|s| StateKey::Privacy(u(), s.clone())),
    );
    keys.extend(
        state
            .devices
            .keys()
            .map(|d| StateKey::Device(u(), d.clone())),
    );
    keys
}

/// A tombstone for every entity record of `state` (the state before the deletion): all its
/// records but the meta record, which stays to say the user is deleted.
pub fn tombstones(state: &UserState, user: &UserId, source_offset: i64) -> Vec<StateWrite> {
    entity_keys(state, user)
        .into_iter()
        .map(|key| StateWrite {
            key,
            source_offset,
            entity: None,
        })
        .collect()
}

/// Drops the users a restore found with nothing but tombstones: users deleted by an earlier
/// version, which tombstoned the meta record too. They are absent, as users never seen (every
/// other user has a meta record: every command that changes anything writes it).
pub fn drop_deleted(users: &mut HashMap<UserId, UserState>) {
    users.retain(|_, state| *state != UserState::default());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handle::handle;
    use crate::store::apply_record;
    use balados_domain::testing::{feed, item, local, name, secs};
    use balados_schemas::{DeviceId, Privacy, Scope, StateEntity};
    use chrono::{TimeZone as _, Utc};
    use std::collections::HashSet;

    fn command(payload: CommandPayload, at: i64) -> CommandEnvelope {
        let at = Utc
            .timestamp_opt(1_700_000_000 + at, 0)
            .single()
            .expect("valid");
        CommandEnvelope {
            command_id: uuid::Uuid::new_v4(),
            user_id: UserId::parse("u").expect("valid"),
            occurred_at: at,
            received_at: at,
            app_id: None,
            device_id: None,
            device_name: None,
            reply_to: None,
            payload,
        }
    }

    /// Commands that give the user a record of every kind.
    fn every_kind() -> Vec<CommandPayload> {
        vec![
            CommandPayload::Subscribe {
                feed: feed(1),
                source_id: None,
            },
            CommandPayload::RecordPlay {
                feed: feed(1),
                item: item(1),
                position: secs(10),
                duration: None,
                played: false,
            },
            CommandPayload::CreatePlaylist {
                playlist_id: local("p"),
                name: name("P"),
                description: None,
                public: false,
            },
            // A deleted playlist keeps a record (for the merge of a sync).
            CommandPayload::CreatePlaylist {
                playlist_id: local("gone"),
                name: name("Gone"),
                description: None,
                public: false,
            },
            CommandPayload::DeletePlaylist {
                playlist_id: local("gone"),
            },
            CommandPayload::ChangePrivacy {
                scope: Scope::Feed(feed(1)),
                privacy: Privacy::Private,
            },
            CommandPayload::UpsertDevice {
                device_id: DeviceId::parse("phone").expect("valid"),
                caption: None,
                kind: None,
            },
        ]
    }

    /// The user with a record of every kind, and the keys of every record written.
    fn busy_user() -> (UserState, HashSet<String>, Vec<StateWrite>) {
        let mut state = UserState::default();
        let mut log = Vec::new();
        for (offset, payload) in (0i64..).zip(every_kind()) {
            log.extend(handle(&mut state, &command(payload, offset), 0, offset).records);
        }
        let written = log.iter().map(|w| w.key.encode()).collect();
        (state, written, log)
    }

    fn restored(log: Vec<StateWrite>) -> HashMap<UserId, UserState> {
        let mut users = HashMap::new();
        for write in log {
            apply_record(&mut users, write.key, write.entity);
        }
        drop_deleted(&mut users);
        users
    }

    #[test]
    fn a_deletion_tombstones_every_entity_and_keeps_the_meta_record_marked_deleted() {
        let (mut state, written, mut log) = busy_user();
        let handled = handle(
            &mut state,
            &command(CommandPayload::DeleteAccount {}, 10),
            0,
            10,
        );
        assert_eq!(handled.events.len(), 1);
        let sequence = handled.events[0].sequence;
        assert_eq!(handled.result.event_count, 1);
        let (meta, entities): (Vec<_>, Vec<_>) =
            (handled.records.iter()).partition(|w| matches!(w.key, StateKey::Meta(_)));
        assert!(entities.iter().all(|w| w.entity.is_none()));
        let tombstoned: HashSet<String> = entities.iter().map(|w| w.key.encode()).collect();
        let mut expected = written;
        expected.remove("u/meta");
        assert_eq!(tombstoned, expected, "every entity written, and only those");
        assert!(
            matches!(
                meta[..],
                [StateWrite {
                    entity: Some(StateEntity::Meta {
                        deleted: true,
                        sequence: s,
                        ..
                    }),
                    ..
                }] if *s == sequence
            ),
            "{meta:?}"
        );
        assert!(state.deleted && state.subscriptions.is_empty() && state.sequence == sequence);
        log.extend(handled.records);
        let user = UserId::parse("u").expect("valid");
        assert_eq!(
            restored(log).get(&user),
            Some(&state),
            "a restore gives the deleted state"
        );
    }

    #[test]
    fn a_deleted_users_later_commands_are_refused_and_write_nothing() {
        let (mut state, _, _) = busy_user();
        handle(
            &mut state,
            &command(CommandPayload::DeleteAccount {}, 10),
            0,
            10,
        );
        let deleted = state.clone();
        for (offset, payload) in (11i64..).zip(every_kind()) {
            let later = handle(&mut state, &command(payload, offset), 0, offset);
            assert_eq!(
                later.result.rejection_code.as_deref(),
                Some("account_deleted")
            );
            assert!(
                later.events.is_empty() && later.records.is_empty(),
                "{later:?}"
            );
            assert_eq!(state, deleted);
        }
    }

    #[test]
    fn a_retried_deletion_is_accepted_and_writes_nothing() {
        let (mut state, _, _) = busy_user();
        let deletion = command(CommandPayload::DeleteAccount {}, 10);
        let first = handle(&mut state, &deletion, 0, 10);
        let deleted = state.clone();
        // The same command again (the outcome was lost): its first answer.
        let again = handle(&mut state, &deletion, 0, 11);
        assert!(again.result.duplicate && again.records.is_empty());
        assert_eq!(
            (again.result.first_sequence, again.result.event_count),
            (first.result.first_sequence, 1)
        );
        // Another deletion (the page sent again): nothing left to do.
        let another = handle(
            &mut state,
            &command(CommandPayload::DeleteAccount {}, 12),
            0,
            12,
        );
        assert!(!another.result.duplicate && another.result.rejection_code.is_none());
        assert_eq!(another.result.event_count, 0);
        assert!(another.events.is_empty() && another.records.is_empty());
        assert_eq!(state, deleted);
    }

    #[test]
    fn a_user_deleted_by_an_earlier_version_restores_as_absent() {
        let (state, _, mut log) = busy_user();
        // That version tombstoned the meta record too.
        let user = UserId::parse("u").expect("valid");
        log.extend(tombstones(&state, &user, 10));
        log.push(StateWrite {
            key: StateKey::Meta(user),
            source_offset: 10,
            entity: None,
        });
        assert!(restored(log).is_empty());
    }
}
