//! Folding a batch of events into row changes, without I/O. An event whose sequence is at or
//! below the user's last applied one is a replay (a redelivery, or a copy from an aborted
//! transaction that a broker showed) and is dropped; keys are deduplicated within the batch so
//! that one upsert statement writes each row once.

use balados_schemas::{EventEnvelope, EventPayload, FeedUrl, ItemId, Privacy, Scope};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap};

/// The change to one `users.subscriptions` row: only the columns set here are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionPatch {
    pub feed_url: String,
    pub source_id: Option<Option<String>>,
    pub subscribed_at: Option<DateTime<Utc>>,
    pub unsubscribed_at: Option<DateTime<Utc>>,
    pub last_sequence: u64,
}

/// The change to one `users.play_statuses` row: `None` leaves a column as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpisodePatch {
    pub feed: FeedUrl,
    pub item: ItemId,
    pub position: Option<u64>,
    /// Set (to a value or to null) only by a recorded play.
    pub duration: Option<Option<u64>>,
    pub played: Option<bool>,
    pub updated_at: Option<DateTime<Utc>>,
    /// Set to a time by a save, to null by an unsave.
    pub saved_at: Option<Option<DateTime<Utc>>>,
}

/// A privacy setting as it ends in the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivacyRow {
    pub privacy: Privacy,
    pub updated_at: DateTime<Utc>,
}

/// A device as it ends in the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRow {
    pub caption: Option<String>,
    pub kind: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// The `scope` and `scope_id` columns of a privacy setting.
pub fn scope_columns(scope: &Scope) -> (&'static str, String) {
    match scope {
        Scope::Global => ("global", String::new()),
        Scope::Feed(feed) => ("feed", feed.id()),
        Scope::Item(item) => ("item", item.id()),
    }
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct BatchChanges {
    /// Keyed by (user id, feed id).
    pub subscriptions: BTreeMap<(String, String), SubscriptionPatch>,
    /// Keyed by (user id, item id).
    pub episodes: BTreeMap<(String, String), EpisodePatch>,
    /// Keyed by (user id, scope, scope id).
    pub privacy: BTreeMap<(String, &'static str, String), PrivacyRow>,
    /// Keyed by (user id, device id).
    pub devices: BTreeMap<(String, String), DeviceRow>,
    /// New last applied sequence per user.
    pub sequences: BTreeMap<String, u64>,
    pub applied: usize,
    pub replays: usize,
    /// Users whose sequence jumped (an event is missing upstream): reported, not hidden.
    pub gaps: Vec<(String, u64, u64)>,
}

/// `last_applied` holds the stored last sequence of the batch's users (absent = 0).
pub fn fold(events: &[EventEnvelope], last_applied: &HashMap<String, u64>) -> BatchChanges {
    let mut changes = BatchChanges::default();
    for event in events {
        let user = event.user_id.as_str();
        let last = changes
            .sequences
            .get(user)
            .or_else(|| last_applied.get(user))
            .copied()
            .unwrap_or(0);
        if event.sequence <= last {
            changes.replays += 1;
            continue;
        }
        if event.sequence != last + 1 {
            changes.gaps.push((user.to_owned(), last, event.sequence));
        }
        changes.sequences.insert(user.to_owned(), event.sequence);
        changes.applied += 1;
        let feed = match &event.payload {
            EventPayload::Subscribed { feed, .. } | EventPayload::Unsubscribed { feed, .. } => feed,
            _ => {
                apply_other(&mut changes, event);
                continue;
            }
        };
        let patch = changes
            .subscriptions
            .entry((user.to_owned(), feed.id()))
            .or_insert_with(|| SubscriptionPatch {
                feed_url: feed.as_str().to_owned(),
                source_id: None,
                subscribed_at: None,
                unsubscribed_at: None,
                last_sequence: event.sequence,
            });
        patch.last_sequence = event.sequence;
        match &event.payload {
            EventPayload::Subscribed {
                source_id,
                subscribed_at,
                ..
            } => {
                patch.source_id = Some(source_id.clone());
                patch.subscribed_at = Some(*subscribed_at);
            }
            EventPayload::Unsubscribed {
                unsubscribed_at, ..
            } => patch.unsubscribed_at = Some(*unsubscribed_at),
            _ => {}
        }
    }
    changes
}

/// Folds the events of the other per-user models; the ones without a model yet (playlists,
/// collections, shares, removals) only advance the sequence.
fn apply_other(changes: &mut BatchChanges, event: &EventEnvelope) {
    let user = event.user_id.as_str().to_owned();
    let at = event.occurred_at;
    match &event.payload {
        EventPayload::PlayRecorded {
            feed,
            item,
            position,
            duration,
            played,
        } => {
            let patch = episode_patch(&mut changes.episodes, &user, feed, item);
            patch.position = Some(*position);
            patch.duration = Some(*duration);
            patch.played = Some(*played);
            patch.updated_at = Some(at);
        }
        EventPayload::PositionUpdated {
            feed,
            item,
            position,
        } => {
            let patch = episode_patch(&mut changes.episodes, &user, feed, item);
            patch.position = Some(*position);
            patch.updated_at = Some(at);
        }
        EventPayload::EpisodeSaved { feed, item } => {
            episode_patch(&mut changes.episodes, &user, feed, item).saved_at = Some(Some(at));
        }
        EventPayload::EpisodeUnsaved { feed, item } => {
            episode_patch(&mut changes.episodes, &user, feed, item).saved_at = Some(None);
        }
        EventPayload::PrivacyChanged { scope, privacy } => {
            let (kind, id) = scope_columns(scope);
            changes.privacy.insert(
                (user, kind, id),
                PrivacyRow {
                    privacy: *privacy,
                    updated_at: at,
                },
            );
        }
        EventPayload::DeviceUpserted {
            device_id,
            caption,
            kind,
        } => {
            changes.devices.insert(
                (user, device_id.clone()),
                DeviceRow {
                    caption: caption.clone(),
                    kind: kind.clone(),
                    updated_at: at,
                },
            );
        }
        _ => {}
    }
}

fn episode_patch<'a>(
    episodes: &'a mut BTreeMap<(String, String), EpisodePatch>,
    user: &str,
    feed: &FeedUrl,
    item: &ItemId,
) -> &'a mut EpisodePatch {
    let patch = episodes
        .entry((user.to_owned(), item.id()))
        .or_insert_with(|| EpisodePatch {
            feed: feed.clone(),
            item: item.clone(),
            position: None,
            duration: None,
            played: None,
            updated_at: None,
            saved_at: None,
        });
    patch.feed = feed.clone();
    patch
}

#[cfg(test)]
mod tests {
    use super::*;
    use balados_schemas::{FeedUrl, UserId};
    use chrono::TimeZone as _;

    fn event(user: &str, sequence: u64, subscribe: bool) -> EventEnvelope {
        let at = Utc
            .timestamp_opt(1_700_000_000 + i64::try_from(sequence).expect("small"), 0)
            .single()
            .expect("valid");
        let feed = FeedUrl::parse("https://e.com/f").expect("valid");
        EventEnvelope {
            event_id: uuid::Uuid::nil(),
            command_id: uuid::Uuid::nil(),
            user_id: UserId::parse(user).expect("valid"),
            sequence,
            occurred_at: at,
            recorded_at: at,
            app_id: None,
            device_id: None,
            device_name: None,
            payload: if subscribe {
                EventPayload::Subscribed {
                    feed,
                    source_id: None,
                    subscribed_at: at,
                }
            } else {
                EventPayload::Unsubscribed {
                    feed,
                    unsubscribed_at: at,
                }
            },
        }
    }

    #[test]
    fn replayed_events_are_dropped_by_sequence() {
        let stored = HashMap::from([("a".to_owned(), 1)]);
        let events = [
            event("a", 1, true),
            event("a", 2, false),
            event("a", 2, false),
            event("b", 1, true),
        ];
        let changes = fold(&events, &stored);
        assert_eq!((changes.applied, changes.replays), (2, 2));
        assert_eq!(
            changes.sequences,
            BTreeMap::from([("a".to_owned(), 2), ("b".to_owned(), 1)])
        );
        assert!(changes.gaps.is_empty());
    }

    #[test]
    fn one_key_is_written_once_with_the_merged_columns() {
        let changes = fold(
            &[event("a", 1, true), event("a", 2, false)],
            &HashMap::new(),
        );
        assert_eq!(changes.subscriptions.len(), 1);
        let patch = changes.subscriptions.values().next().expect("one");
        assert!(patch.subscribed_at.is_some() && patch.unsubscribed_at.is_some());
        assert_eq!(patch.last_sequence, 2);
    }

    #[test]
    fn the_same_events_twice_fold_to_nothing_new() {
        let events = [event("a", 1, true), event("a", 2, false)];
        let first = fold(&events, &HashMap::new());
        let stored: HashMap<String, u64> = first.sequences.clone().into_iter().collect();
        let second = fold(&events, &stored);
        assert_eq!((second.applied, second.subscriptions.len()), (0, 0));
    }

    #[test]
    fn a_sequence_jump_is_reported() {
        let changes = fold(&[event("a", 3, true)], &HashMap::new());
        assert_eq!(changes.gaps, vec![("a".to_owned(), 0, 3)]);
    }

    fn other(user: &str, sequence: u64, payload: EventPayload) -> EventEnvelope {
        EventEnvelope {
            payload,
            ..event(user, sequence, true)
        }
    }

    #[test]
    fn plays_saves_privacy_and_devices_fold_to_one_row_each() {
        let feed = FeedUrl::parse("https://e.com/f").expect("valid");
        let item = ItemId::new("g", "https://e.com/1.mp3").expect("valid");
        let events = [
            other(
                "a",
                1,
                EventPayload::PlayRecorded {
                    feed: feed.clone(),
                    item: item.clone(),
                    position: 10,
                    duration: Some(600),
                    played: false,
                },
            ),
            other(
                "a",
                2,
                EventPayload::EpisodeSaved {
                    feed: feed.clone(),
                    item: item.clone(),
                },
            ),
            other(
                "a",
                3,
                EventPayload::PositionUpdated {
                    feed: feed.clone(),
                    item: item.clone(),
                    position: 42,
                },
            ),
            other(
                "a",
                4,
                EventPayload::EpisodeUnsaved {
                    feed: feed.clone(),
                    item: item.clone(),
                },
            ),
            other(
                "a",
                5,
                EventPayload::PrivacyChanged {
                    scope: Scope::Feed(feed.clone()),
                    privacy: Privacy::Anonymous,
                },
            ),
            other(
                "a",
                6,
                EventPayload::PrivacyChanged {
                    scope: Scope::Feed(feed.clone()),
                    privacy: Privacy::Private,
                },
            ),
        ];
        let changes = fold(&events, &HashMap::new());
        assert_eq!(changes.applied, 6);
        let patch = &changes.episodes[&("a".to_owned(), item.id())];
        assert_eq!(
            (patch.position, patch.duration, patch.played, patch.saved_at),
            (Some(42), Some(Some(600)), Some(false), Some(None)),
            "the last position, the recorded duration, saved then unsaved"
        );
        assert_eq!(changes.privacy.len(), 1);
        assert_eq!(
            changes.privacy[&("a".to_owned(), "feed", feed.id())].privacy,
            Privacy::Private
        );
        assert!(changes.subscriptions.is_empty());
    }
}
