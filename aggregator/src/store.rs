//! The users' aggregates and their mapping to the fine-grained records of `user-state` (one record
//! per entity; a command writes only what it changed).

use balados_domain::{Collection, Device, Episode, Subscription, UserState, evolve};
use balados_schemas::{
    EventEnvelope, EventPayload, StateEntity, StateKey, UserId, UserStateRecord,
};
use std::collections::HashMap;

mod playlists;

/// One write to `user-state`: an entity's new value, or its removal (a tombstone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateWrite {
    pub key: StateKey,
    /// Offset in `commands` of the command that made the change.
    pub source_offset: i64,
    pub entity: Option<StateEntity>,
}

impl StateWrite {
    /// Records where the user's last event landed, in a meta record (other records are left).
    pub fn set_events_offset(&mut self, offset: i64) {
        if let Some(StateEntity::Meta { events_offset, .. }) = &mut self.entity {
            *events_offset = Some(offset);
        }
    }

    /// The record value; `None` for a tombstone.
    pub fn record(&self) -> Option<UserStateRecord> {
        self.entity.clone().map(|entity| UserStateRecord {
            user_id: self.key.user_id().clone(),
            source_offset: self.source_offset,
            entity,
        })
    }
}

/// The entity an event changes, if any.
fn touched(user: &UserId, event: &EventPayload) -> Option<StateKey> {
    let user = user.clone();
    Some(match event {
        EventPayload::Subscribed { feed, .. } | EventPayload::Unsubscribed { feed, .. } => {
            StateKey::Subscription(user, feed.clone())
        }
        EventPayload::PlayRecorded { item, .. }
        | EventPayload::PositionUpdated { item, .. }
        | EventPayload::EpisodeSaved { item, .. }
        | EventPayload::EpisodeUnsaved { item, .. } => StateKey::Episode(user, item.clone()),
        // A deletion tombstones every entity (`deletion`), written by `handle` instead.
        EventPayload::EpisodeShared { .. }
        | EventPayload::EventsRemoved { .. }
        | EventPayload::AccountDeleted {} => return None,
        EventPayload::PrivacyChanged { scope, .. } => StateKey::Privacy(user, scope.clone()),
        EventPayload::PlaylistCreated { playlist_id, .. }
        | EventPayload::PlaylistUpdated { playlist_id, .. }
        | EventPayload::PlaylistVisibilityChanged { playlist_id, .. }
        | EventPayload::PlaylistDeleted { playlist_id }
        | EventPayload::PlaylistItemAdded { playlist_id, .. }
        | EventPayload::PlaylistItemRemoved { playlist_id, .. }
        | EventPayload::PlaylistReordered { playlist_id, .. } => {
            StateKey::Playlist(user, playlist_id.clone())
        }
        EventPayload::CollectionCreated { collection_id, .. }
        | EventPayload::CollectionUpdated { collection_id, .. }
        | EventPayload::CollectionVisibilityChanged { collection_id, .. }
        | EventPayload::CollectionDeleted { collection_id }
        | EventPayload::CollectionFeedAdded { collection_id, .. }
        | EventPayload::CollectionFeedRemoved { collection_id, .. }
        | EventPayload::CollectionFeedMoved { collection_id, .. } => {
            StateKey::Collection(user, collection_id.clone())
        }
        EventPayload::DeviceUpserted { device_id, .. } => StateKey::Device(user, device_id.clone()),
    })
}

/// The entity under `key` as it is in `state`; `None` when it does not exist.
fn entity(state: &UserState, key: &StateKey) -> Option<StateEntity> {
    match key {
        StateKey::Meta(_) => Some(StateEntity::Meta {
            sequence: state.sequence,
            recent_commands: state.recent.iter().cloned().collect(),
            events_offset: state.events_offset,
            sync_position: state.sync_position,
            deleted: state.deleted,
        }),
        StateKey::Subscription(_, feed) => {
            state
                .subscriptions
                .get(feed)
                .map(|sub| StateEntity::Subscription {
                    feed: feed.clone(),
                    source_id: sub.source_id.clone(),
                    subscribed_at: sub.subscribed_at,
                    unsubscribed_at: sub.unsubscribed_at,
                    sync_position: sub.sync_position,
                })
        }
        StateKey::Episode(_, item) => state.episodes.get(item).map(|e| StateEntity::Episode {
            feed: e.feed.clone(),
            item: item.clone(),
            updated_at: e.updated_at,
            position: e.position,
            duration: e.duration,
            played: e.played,
            saved_at: e.saved_at,
            sync_position: e.sync_position,
        }),
        StateKey::Playlist(_, id) => playlists::entity(state, id),
        StateKey::Collection(_, id) => state.collections.get(id).map(|c| StateEntity::Collection {
            collection_id: id.clone(),
            title: c.title.clone(),
            is_default: c.is_default,
            public: c.public,
            feeds: c.feeds.clone(),
        }),
        StateKey::Privacy(_, scope) => state.privacy.get(scope).map(|p| StateEntity::Privacy {
            scope: scope.clone(),
            privacy: *p,
        }),
        StateKey::Device(_, id) => state.devices.get(id).map(|d| StateEntity::Device {
            device_id: id.clone(),
            caption: d.caption.clone(),
            kind: d.kind.clone(),
        }),
    }
}

/// Applies `events` and returns the writes of the entities they changed (each once, as it ends
/// up). The meta record is not included: see [`meta_write`].
pub fn apply_and_collect(
    state: &mut UserState,
    user: &UserId,
    events: &[EventEnvelope],
    source_offset: i64,
) -> Vec<StateWrite> {
    // A deletion may push the oldest deleted playlist out of the state: its record goes too.
    let deletes =
        (events.iter()).any(|e| matches!(e.payload, EventPayload::PlaylistDeleted { .. }));
    let deleted_before: Vec<String> = if deletes {
        state.deleted_playlists.keys().cloned().collect()
    } else {
        Vec::new()
    };
    *state = events.iter().fold(std::mem::take(state), evolve);
    let forgotten = (deleted_before.into_iter())
        .filter(|id| !state.deleted_playlists.contains_key(id))
        .map(|id| StateKey::Playlist(user.clone(), id));
    let mut keys: Vec<StateKey> = Vec::with_capacity(events.len());
    for key in (events.iter().filter_map(|e| touched(user, &e.payload))).chain(forgotten) {
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys.into_iter()
        .map(|key| StateWrite {
            entity: entity(state, &key),
            key,
            source_offset,
        })
        .collect()
}

/// The meta record (sequence and recent commands change with every command).
pub fn meta_write(state: &UserState, user: &UserId, source_offset: i64) -> StateWrite {
    let key = StateKey::Meta(user.clone());
    StateWrite {
        entity: entity(state, &key),
        key,
        source_offset,
    }
}

/// Restore: applies one record (or a tombstone, `None`) to the users being rebuilt.
pub fn apply_record(
    users: &mut HashMap<UserId, UserState>,
    key: StateKey,
    entity: Option<StateEntity>,
) {
    let state = users.entry(key.user_id().clone()).or_default();
    match (key, entity) {
        (
            StateKey::Meta(_),
            Some(StateEntity::Meta {
                sequence,
                recent_commands,
                events_offset,
                sync_position,
                deleted,
            }),
        ) => {
            state.sequence = sequence;
            state.recent = recent_commands.into();
            state.events_offset = events_offset;
            state.sync_position = sync_position;
            state.deleted = deleted;
        }
        (StateKey::Meta(_), _) => {
            state.sequence = 0;
            state.recent.clear();
            state.events_offset = None;
            state.sync_position = 0;
            state.deleted = false;
        }
        (
            StateKey::Subscription(_, feed),
            Some(StateEntity::Subscription {
                source_id,
                subscribed_at,
                unsubscribed_at,
                sync_position,
                ..
            }),
        ) => {
            state.subscriptions.insert(
                feed,
                Subscription {
                    source_id,
                    subscribed_at,
                    unsubscribed_at,
                    sync_position,
                },
            );
        }
        (StateKey::Subscription(_, feed), _) => {
            state.subscriptions.remove(&feed);
        }
        (
            StateKey::Episode(_, item),
            Some(StateEntity::Episode {
                feed,
                updated_at,
                position,
                duration,
                played,
                saved_at,
                sync_position,
                ..
            }),
        ) => {
            state.episodes.insert(
                item,
                Episode {
                    feed,
                    updated_at,
                    position,
                    duration,
                    played,
                    saved_at,
                    sync_position,
                },
            );
        }
        (StateKey::Episode(_, item), _) => {
            state.episodes.remove(&item);
        }
        (StateKey::Playlist(_, id), entity) => playlists::restore(state, id, entity),
        (
            StateKey::Collection(_, id),
            Some(StateEntity::Collection {
                title,
                is_default,
                public,
                feeds,
                ..
            }),
        ) => {
            state.collections.insert(
                id,
                Collection {
                    title,
                    is_default,
                    public,
                    feeds,
                },
            );
        }
        (StateKey::Collection(_, id), _) => {
            state.collections.remove(&id);
        }
        (StateKey::Privacy(_, scope), Some(StateEntity::Privacy { privacy, .. })) => {
            state.privacy.insert(scope, privacy);
        }
        (StateKey::Privacy(_, scope), _) => {
            state.privacy.remove(&scope);
        }
        (StateKey::Device(_, id), Some(StateEntity::Device { caption, kind, .. })) => {
            state.devices.insert(id, Device { caption, kind });
        }
        (StateKey::Device(_, id), _) => {
            state.devices.remove(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handle::handle;
    use balados_schemas::{CommandEnvelope, CommandPayload, FeedUrl, ItemId, Scope};
    use chrono::{TimeZone as _, Utc};

    fn cmd(payload: CommandPayload, at: i64) -> CommandEnvelope {
        CommandEnvelope {
            command_id: uuid::Uuid::new_v4(),
            user_id: UserId::parse("u").expect("valid"),
            occurred_at: Utc.timestamp_opt(at, 0).single().expect("valid"),
            received_at: Utc.timestamp_opt(at, 0).single().expect("valid"),
            app_id: None,
            device_id: None,
            device_name: None,
            reply_to: None,
            payload,
        }
    }

    /// The writes of every command, replayed in order on an empty map (tombstones included),
    /// rebuild the state they were written from.
    #[test]
    fn writes_rebuild_the_state_they_were_written_from() {
        let feed = |n: u32| FeedUrl::parse(&format!("https://a.example/{n}")).expect("valid");
        let item = |n: u32| {
            ItemId::new(&format!("g{n}"), &format!("https://a.example/{n}.mp3")).expect("valid")
        };
        let commands = [
            CommandPayload::Subscribe {
                feed: feed(1),
                source_id: Some(balados_schemas::SourceId::parse("s").expect("valid")),
            },
            CommandPayload::Subscribe {
                feed: feed(2),
                source_id: None,
            },
            CommandPayload::Unsubscribe { feed: feed(1) },
            CommandPayload::RecordPlay {
                feed: feed(2),
                item: item(1),
                position: balados_schemas::Seconds::parse(10).expect("valid"),
                duration: Some(balados_schemas::Seconds::parse(100).expect("valid")),
                played: false,
            },
            CommandPayload::SaveEpisode {
                feed: feed(2),
                item: item(2),
            },
            CommandPayload::UnsaveEpisode { item: item(2) },
            CommandPayload::ChangePrivacy {
                scope: Scope::Feed(feed(2)),
                privacy: balados_schemas::Privacy::Private,
            },
            CommandPayload::CreatePlaylist {
                playlist_id: balados_schemas::LocalId::parse("keep").expect("valid"),
                name: balados_schemas::Name::parse("Keep").expect("valid"),
                description: None,
                public: false,
            },
            CommandPayload::AddPlaylistItem {
                playlist_id: balados_schemas::LocalId::parse("keep").expect("valid"),
                feed: feed(2),
                item: item(1),
            },
            CommandPayload::CreatePlaylist {
                playlist_id: balados_schemas::LocalId::parse("gone").expect("valid"),
                name: balados_schemas::Name::parse("Gone").expect("valid"),
                description: None,
                public: false,
            },
            CommandPayload::DeletePlaylist {
                playlist_id: balados_schemas::LocalId::parse("gone").expect("valid"),
            },
            CommandPayload::UpsertDevice {
                device_id: balados_schemas::DeviceId::parse("phone").expect("valid"),
                caption: None,
                kind: Some(balados_schemas::DeviceKind::parse("mobile").expect("valid")),
            },
        ];
        let mut state = UserState::default();
        let mut log = Vec::new();
        for (offset, payload) in (0i64..).zip(commands) {
            let handled = handle(&mut state, &cmd(payload, 10 + offset), 0, offset);
            assert_eq!(handled.result.rejection_code, None);
            log.extend(handled.records);
        }
        assert!(
            log.iter().any(|w| w.entity.is_none()),
            "an unsaved episode leaves a tombstone"
        );
        let gone = StateKey::Playlist(UserId::parse("u").expect("valid"), "gone".into());
        assert!(
            (log.iter()).any(|w| w.key == gone
                && matches!(
                    w.entity,
                    Some(StateEntity::Playlist {
                        deleted_at: Some(_),
                        ..
                    })
                )),
            "a deleted playlist is kept as a record, for the merge of a sync"
        );
        let mut users = HashMap::new();
        for write in log {
            apply_record(&mut users, write.key, write.entity);
        }
        let user = UserId::parse("u").expect("valid");
        assert_eq!(users[&user], state);
        assert!(!state.playlists.contains_key("gone") && state.episodes.len() == 1);
    }

    proptest::proptest! {
        /// Whatever the stream of commands, replaying the writes they made (tombstones
        /// included) rebuilds exactly the state: restore loses nothing.
        #[test]
        fn any_stream_is_restored_from_its_writes(
            stream in proptest::collection::vec(
                (balados_domain::testing::arb_payload(), 0i64..100),
                1..80,
            )
        ) {
            let mut state = UserState::default();
            let mut users = HashMap::new();
            for (offset, (payload, at)) in (0i64..).zip(stream) {
                for write in handle(&mut state, &cmd(payload, at), 0, offset).records {
                    apply_record(&mut users, write.key, write.entity);
                }
            }
            let user = UserId::parse("u").expect("valid");
            crate::deletion::drop_deleted(&mut users);
            let restored = users.remove(&user).unwrap_or_default();
            proptest::prop_assert_eq!(restored, state);
        }
    }
}
