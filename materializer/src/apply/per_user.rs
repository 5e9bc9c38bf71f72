//! The per-user models of subscriptions, play statuses, privacy settings and devices: patches
//! that set only the columns the batch's events changed.

use balados_schemas::{EventEnvelope, EventPayload, FeedUrl, ItemId, Privacy, Scope};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// The change to one `users.subscriptions` row: only the columns set here are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionPatch {
    pub feed_url: String,
    pub source_id: Option<Option<String>>,
    pub subscribed_at: Option<DateTime<Utc>>,
    pub unsubscribed_at: Option<DateTime<Utc>>,
    /// The sync position of the last event that changed the row (always written).
    pub sync_position: i64,
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
    /// The sync position of the last event that changed the row (always written).
    pub sync_position: i64,
}

/// A device as it ends in the batch: (caption, kind).
pub type DeviceRow = (Option<String>, Option<String>);

/// The `scope` and `scope_id` columns of a privacy setting.
pub fn scope_columns(scope: &Scope) -> (&'static str, String) {
    match scope {
        Scope::Global => ("global", String::new()),
        Scope::Feed(feed) => ("feed", feed.id()),
        Scope::Item(item) => ("item", item.id()),
    }
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PerUserChanges {
    /// Keyed by (user id, feed id).
    pub subscriptions: BTreeMap<(String, String), SubscriptionPatch>,
    /// Keyed by (user id, item id).
    pub episodes: BTreeMap<(String, String), EpisodePatch>,
    /// Keyed by (user id, scope, scope id): the setting as it ends in the batch.
    pub privacy: BTreeMap<(String, &'static str, String), Privacy>,
    /// Keyed by (user id, device id).
    pub devices: BTreeMap<(String, String), DeviceRow>,
}

impl PerUserChanges {
    /// Folds one event of these models; the others are not theirs.
    pub fn apply(&mut self, event: &EventEnvelope) {
        let user = event.user_id.as_str().to_owned();
        let at = event.occurred_at;
        let sync = event.sync_position;
        match &event.payload {
            EventPayload::Subscribed {
                feed,
                source_id,
                subscribed_at,
            } => {
                let patch = self.subscription(user, feed, sync);
                patch.source_id = Some(source_id.clone());
                patch.subscribed_at = Some(*subscribed_at);
            }
            EventPayload::Unsubscribed {
                feed,
                unsubscribed_at,
            } => self.subscription(user, feed, sync).unsubscribed_at = Some(*unsubscribed_at),
            EventPayload::PlayRecorded {
                feed,
                item,
                position,
                duration,
                played,
            } => {
                let patch = self.episode(user, feed, item, sync);
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
                let patch = self.episode(user, feed, item, sync);
                patch.position = Some(*position);
                patch.updated_at = Some(at);
            }
            EventPayload::EpisodeSaved { feed, item } => {
                self.episode(user, feed, item, sync).saved_at = Some(Some(at));
            }
            EventPayload::EpisodeUnsaved { feed, item } => {
                self.episode(user, feed, item, sync).saved_at = Some(None);
            }
            EventPayload::PrivacyChanged { scope, privacy } => {
                let (kind, id) = scope_columns(scope);
                self.privacy.insert((user, kind, id), *privacy);
            }
            EventPayload::DeviceUpserted {
                device_id,
                caption,
                kind,
            } => {
                self.devices
                    .insert((user, device_id.clone()), (caption.clone(), kind.clone()));
            }
            _ => {}
        }
    }

    /// Drops the user's changes: their account was deleted (its rows are deleted whole).
    pub fn forget(&mut self, user: &str) {
        self.subscriptions.retain(|(u, _), _| u != user);
        self.episodes.retain(|(u, _), _| u != user);
        self.privacy.retain(|(u, _, _), _| u != user);
        self.devices.retain(|(u, _), _| u != user);
    }

    fn subscription(&mut self, user: String, feed: &FeedUrl, sync: i64) -> &mut SubscriptionPatch {
        let patch = self
            .subscriptions
            .entry((user, feed.id()))
            .or_insert_with(|| SubscriptionPatch {
                feed_url: feed.as_str().to_owned(),
                source_id: None,
                subscribed_at: None,
                unsubscribed_at: None,
                sync_position: sync,
            });
        patch.sync_position = sync;
        patch
    }

    fn episode(
        &mut self,
        user: String,
        feed: &FeedUrl,
        item: &ItemId,
        sync: i64,
    ) -> &mut EpisodePatch {
        let patch = self
            .episodes
            .entry((user, item.id()))
            .or_insert_with(|| EpisodePatch {
                feed: feed.clone(),
                item: item.clone(),
                position: None,
                duration: None,
                played: None,
                updated_at: None,
                saved_at: None,
                sync_position: sync,
            });
        patch.feed = feed.clone();
        patch.sync_position = sync;
        patch
    }
}
