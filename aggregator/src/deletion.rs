//! Deleting an account: what `AccountDeleted` does to the user's state records and to the state
//! held in memory.
//!
//! Every record the user's state stands on gets a tombstone — the meta record (sequence, recent
//! command ids) included — so that a restore, and the rebuild, find nothing of the user, and a
//! later command under the same id starts from an empty state at sequence 1. Nothing of the user
//! is kept, not even the sequence: the materializer takes `AccountDeleted` as the end of the
//! user's stream and lets the next one start at 1 again (`balados_materializer::apply`).
//!
//! That reset is only safe if no copy of an event from before the deletion can follow it, nor a
//! copy of the deletion follow an event from after it. Copies come from a failed batch being
//! written again from the committed offsets; so a `DeleteAccount` is decided in a batch of its own
//! (`batch.rs`): whatever is written again around a deletion is the deletion alone.

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

/// Every key under which `state` has a record: its meta record and each entity.
pub fn every_key(state: &UserState, user: &UserId) -> Vec<StateKey> {
    let u = || user.clone();
    let mut keys = vec![StateKey::Meta(u())];
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

/// A tombstone for every record of `state` (the state before the deletion).
pub fn tombstones(state: &UserState, user: &UserId, source_offset: i64) -> Vec<StateWrite> {
    every_key(state, user)
        .into_iter()
        .map(|key| StateWrite {
            key,
            source_offset,
            entity: None,
        })
        .collect()
}

/// Drops the users a restore found with nothing but tombstones: a deleted user is absent, as a
/// user never seen (a real user always has a meta record holding their recent commands).
pub fn drop_deleted(users: &mut HashMap<UserId, UserState>) {
    users.retain(|_, state| *state != UserState::default());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handle::handle;
    use crate::store::apply_record;
    use balados_domain::testing::{feed, item, local, name, secs};
    use balados_schemas::{DeviceId, Privacy, Scope};
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

    #[test]
    fn a_deletion_tombstones_every_record_the_user_ever_wrote_and_forgets_them() {
        let mut state = UserState::default();
        let mut written: HashSet<String> = HashSet::new();
        let mut users = HashMap::new();
        for (offset, payload) in (0i64..).zip(every_kind()) {
            for write in handle(&mut state, &command(payload, offset), 0, offset).records {
                written.insert(write.key.encode());
                apply_record(&mut users, write.key, write.entity);
            }
        }
        let deletion = command(CommandPayload::DeleteAccount {}, 10);
        let handled = handle(&mut state, &deletion, 0, 10);
        assert!(handled.deleted);
        assert_eq!(handled.events.len(), 1);
        assert_eq!(handled.result.event_count, 1);
        assert!(handled.records.iter().all(|w| w.entity.is_none()));
        let tombstoned: HashSet<String> = handled.records.iter().map(|w| w.key.encode()).collect();
        assert_eq!(tombstoned, written, "every key written, and only those");
        assert_eq!(state, UserState::default(), "nothing kept in memory");
        for write in handled.records {
            apply_record(&mut users, write.key, write.entity);
        }
        drop_deleted(&mut users);
        assert!(users.is_empty(), "a restore finds no such user");
    }

    #[test]
    fn a_deleted_user_starts_again_from_nothing_at_sequence_one() {
        let mut state = UserState::default();
        for (offset, payload) in (0i64..).zip(every_kind()) {
            handle(&mut state, &command(payload, offset), 0, offset);
        }
        let deletion = command(CommandPayload::DeleteAccount {}, 10);
        let first = handle(&mut state, &deletion, 0, 10);
        assert!(first.events[0].sequence > 1);
        // A retry of the deletion is no duplicate any more (nothing is remembered): it deletes
        // nothing more, and says so with a deletion at sequence 1.
        let again = handle(&mut state, &deletion, 0, 11);
        assert!(!again.result.duplicate && again.deleted);
        assert_eq!(again.events[0].sequence, 1);
        let keys: Vec<String> = again.records.iter().map(|w| w.key.encode()).collect();
        assert_eq!(keys, vec!["u/meta".to_owned()]);
        let back = handle(&mut state, &command(every_kind().remove(0), 12), 0, 12);
        assert_eq!(back.events[0].sequence, 1);
        assert_eq!(state.subscriptions.len(), 1);
    }
}
