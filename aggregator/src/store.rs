//! The state store: users' aggregates per partition, in memory, and their mapping to the
//! fine-grained records of `user-state` (one record per entity; a command writes only what it
//! changed). A disk-backed store can replace the maps behind the same methods.

use crate::domain::{Subscription, UserState, evolve};
use balados_schemas::{
    EventEnvelope, EventPayload, StateEntity, StateKey, UserId, UserStateRecord,
};
use std::collections::HashMap;

#[derive(Debug, Default)]
pub struct StateStore {
    partitions: HashMap<i32, HashMap<UserId, UserState>>,
}

impl StateStore {
    pub fn is_loaded(&self, partition: i32) -> bool {
        self.partitions.contains_key(&partition)
    }

    pub fn load(&mut self, partition: i32, users: HashMap<UserId, UserState>) {
        self.partitions.insert(partition, users);
    }

    pub fn drop_partition(&mut self, partition: i32) {
        self.partitions.remove(&partition);
    }

    pub fn drop_all(&mut self) {
        self.partitions.clear();
    }

    pub fn user_count(&self) -> usize {
        self.partitions.values().map(HashMap::len).sum()
    }

    /// The user's state (a new, empty one for a user never seen).
    pub fn user_mut(&mut self, partition: i32, user: &UserId) -> &mut UserState {
        self.partitions
            .entry(partition)
            .or_default()
            .entry(user.clone())
            .or_default()
    }
}

/// Applies `events` and returns the records of the entities they changed, plus the meta record
/// (sequence and recent commands change with every command).
pub fn apply_and_collect(
    state: &mut UserState,
    user: &UserId,
    events: &[EventEnvelope],
    source_offset: i64,
) -> Vec<(StateKey, UserStateRecord)> {
    *state = events.iter().fold(std::mem::take(state), evolve);
    let mut records = Vec::with_capacity(events.len() + 1);
    for event in events {
        let feed = match &event.payload {
            EventPayload::Subscribed { feed, .. } | EventPayload::Unsubscribed { feed, .. } => feed,
        };
        let key = StateKey::Subscription(user.clone(), feed.clone());
        if records.iter().any(|(k, _)| k == &key) {
            continue;
        }
        if let Some(sub) = state.subscriptions.get(feed) {
            let entity = StateEntity::Subscription {
                feed: feed.clone(),
                source_id: sub.source_id.clone(),
                subscribed_at: sub.subscribed_at,
                unsubscribed_at: sub.unsubscribed_at,
            };
            records.push((
                key,
                UserStateRecord {
                    user_id: user.clone(),
                    source_offset,
                    entity,
                },
            ));
        }
    }
    records
}

pub fn meta_record(
    state: &UserState,
    user: &UserId,
    source_offset: i64,
) -> (StateKey, UserStateRecord) {
    let entity = StateEntity::Meta {
        sequence: state.sequence,
        recent_commands: state.recent.iter().cloned().collect(),
    };
    (
        StateKey::Meta(user.clone()),
        UserStateRecord {
            user_id: user.clone(),
            source_offset,
            entity,
        },
    )
}

/// Restore: applies one record (or a tombstone, `None`) to the users being rebuilt.
pub fn apply_record(
    users: &mut HashMap<UserId, UserState>,
    key: StateKey,
    record: Option<UserStateRecord>,
) {
    let state = users.entry(key.user_id().clone()).or_default();
    match (key, record) {
        (
            StateKey::Meta(_),
            Some(UserStateRecord {
                entity:
                    StateEntity::Meta {
                        sequence,
                        recent_commands,
                    },
                ..
            }),
        ) => {
            state.sequence = sequence;
            state.recent = recent_commands.into();
        }
        (StateKey::Meta(_), _) => {
            state.sequence = 0;
            state.recent.clear();
        }
        (
            StateKey::Subscription(_, feed),
            Some(UserStateRecord {
                entity:
                    StateEntity::Subscription {
                        source_id,
                        subscribed_at,
                        unsubscribed_at,
                        ..
                    },
                ..
            }),
        ) => {
            state.subscriptions.insert(
                feed,
                Subscription {
                    source_id,
                    subscribed_at,
                    unsubscribed_at,
                },
            );
        }
        (StateKey::Subscription(_, feed), _) => {
            state.subscriptions.remove(&feed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Decision, decide};
    use balados_schemas::{CommandEnvelope, CommandPayload, FeedUrl, RecentCommand};
    use chrono::{TimeZone as _, Utc};

    fn cmd(feed: &str, subscribe: bool, at: i64) -> CommandEnvelope {
        let feed = FeedUrl::parse(feed).expect("valid");
        CommandEnvelope {
            command_id: uuid::Uuid::new_v4(),
            user_id: UserId::parse("u").expect("valid"),
            occurred_at: Utc.timestamp_opt(at, 0).single().expect("valid"),
            received_at: Utc.timestamp_opt(at, 0).single().expect("valid"),
            app_id: None,
            device_id: None,
            device_name: None,
            reply_to: None,
            payload: if subscribe {
                CommandPayload::Subscribe {
                    feed,
                    source_id: Some("s".into()),
                }
            } else {
                CommandPayload::Unsubscribe { feed }
            },
        }
    }

    /// The records a command writes, replayed on an empty map, rebuild the same state.
    #[test]
    fn records_rebuild_the_state_they_were_written_from() {
        let user = UserId::parse("u").expect("valid");
        let mut state = UserState::default();
        let mut log = Vec::new();
        let commands = [
            cmd("https://a.example/1", true, 10),
            cmd("https://a.example/2", true, 11),
            cmd("https://a.example/1", false, 12),
        ];
        for (offset, command) in (0i64..).zip(commands) {
            let Decision::Accepted(events) = decide(&state, &command) else {
                panic!("accepted")
            };
            let mut records = apply_and_collect(&mut state, &user, &events, offset);
            state.remember(RecentCommand {
                command_id: command.command_id,
                rejection_code: None,
                first_sequence: events[0].sequence,
                event_count: 1,
            });
            records.push(meta_record(&state, &user, offset));
            log.extend(records);
        }
        let mut users = HashMap::new();
        for (key, record) in log {
            apply_record(&mut users, key, Some(record));
        }
        assert_eq!(users[&user], state);
        assert_eq!(state.sequence, 3);
    }
}
