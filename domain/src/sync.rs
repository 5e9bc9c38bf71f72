//! A client's bulk sync (docs/architecture.md §11), merged with the user's state into ordinary
//! events, so that replays and every read model work unchanged. Each event carries the client's own time of the
//! change (clamped like a command's), so the state keeps the client's times and a later upload is
//! compared with them.
//!
//! - Subscriptions: the client's latest change (the later of its two times) is recorded when it is
//!   later than the server's time of the same kind and not before the other kind (a tie keeps the
//!   feed subscribed), so the latest change of all wins whatever the order of the uploads.
//! - Play statuses: the newer `updated_at` wins, so a stale upload never overwrites newer state;
//!   at the same time an explicit reset (or an unplayed status at 0) beats played, which beats
//!   unplayed; then the larger position. "Played beats unplayed" whatever the times, as the
//!   original did, cannot be order-independent once a reset may win over a played status (a
//!   newer unplayed < an older played < a reset between them < the newer unplayed): the newer
//!   time rules, played breaks ties.
//! - Playlists: see [`playlists`].
//!
//! What does not fit a per-user limit is left out (the server's side stands); the route reports
//! every upload the server did not take as a conflict, from the read models after the decision.

mod playlists;

use super::decide::MAX_CLOCK_SKEW;
use super::episode_actions::resolve;
use super::episodes::MAX_EPISODES;
use super::evolve::evolve;
use super::state::{Episode, Subscription, UserState};
use super::subscriptions;
use balados_schemas::{
    CommandEnvelope, EventEnvelope, EventPayload, FeedUrl, SourceId, SyncPlay, SyncPlaylist,
    SyncSubscription,
};
use chrono::{DateTime, Utc};
use std::cmp::Ordering;

/// An event and the client's time of the change it records.
pub type Timed = (EventPayload, DateTime<Utc>);

/// The events a sync emits, in order: subscriptions, then plays, then playlists.
pub fn merge(
    state: &UserState,
    command: &CommandEnvelope,
    last_sync: Option<i64>,
    (subs, plays, lists): (&[SyncSubscription], &[SyncPlay], &[SyncPlaylist]),
) -> Vec<Timed> {
    let mut scratch = Scratch {
        state: state.clone(),
        command,
        events: Vec::new(),
    };
    for sub in subs {
        subscription(&mut scratch, sub);
    }
    for play in plays {
        self::play(&mut scratch, play);
    }
    let since = last_sync.and_then(|s| DateTime::from_timestamp(s, 0));
    playlists::merge(&mut scratch, since, lists);
    scratch.events
}

/// The state as the sync's events so far leave it, so that each entry is decided against the
/// earlier ones (a feed twice, the limits, the default collection created once).
struct Scratch<'a> {
    state: UserState,
    command: &'a CommandEnvelope,
    events: Vec<Timed>,
}

impl Scratch<'_> {
    fn push(&mut self, payload: EventPayload, at: DateTime<Utc>) {
        let envelope = EventEnvelope {
            event_id: uuid::Uuid::nil(),
            command_id: self.command.command_id,
            user_id: self.command.user_id.clone(),
            sequence: self.state.sequence + 1,
            sync_position: self.state.sync_position + 1,
            occurred_at: at,
            recorded_at: self.command.received_at,
            app_id: None,
            device_id: None,
            device_name: None,
            payload,
        };
        self.state = evolve(std::mem::take(&mut self.state), &envelope);
        self.events.push((envelope.payload, at));
    }

    /// A client time more than [`MAX_CLOCK_SKEW`] ahead of the reception is the reception time.
    fn clamp(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        let received = self.command.received_at;
        if at > received + MAX_CLOCK_SKEW {
            received
        } else {
            at
        }
    }
}

fn subscription(scratch: &mut Scratch<'_>, sub: &SyncSubscription) {
    let feed = &sub.feed;
    let current = scratch
        .state
        .subscriptions
        .get(feed)
        .cloned()
        .unwrap_or_default();
    let subscribed = sub.subscribed_at.map(|t| scratch.clamp(t));
    let unsubscribed = sub.unsubscribed_at.map(|t| scratch.clamp(t));
    // The client's own latest change; the other time of its pair no longer decides anything.
    match (subscribed, unsubscribed) {
        (_, Some(u)) if subscribed.is_none_or(|s| u > s) => {
            // Kept even for a feed the server never had: it must win over an older subscription
            // uploaded later by another device. An unsubscription not after the subscription the
            // server has changes nothing (a tie keeps it subscribed).
            if current.unsubscribed_at < Some(u) && current.subscribed_at.is_none_or(|s| u > s) {
                unsubscribe(scratch, feed, current.is_active(), u);
            }
        }
        (Some(s), _) => {
            let newer = current.subscribed_at < Some(s);
            if newer && current.unsubscribed_at.is_none_or(|u| s >= u) {
                subscribe(scratch, feed, &current, s);
            }
        }
        (None, _) => {}
    }
}

fn unsubscribe(scratch: &mut Scratch<'_>, feed: &FeedUrl, was_active: bool, u: DateTime<Utc>) {
    let payload = EventPayload::Unsubscribed {
        feed: feed.clone(),
        unsubscribed_at: u,
    };
    scratch.push(payload, u);
    if !was_active {
        return;
    }
    // A collection holds only subscribed feeds.
    let collections: Vec<String> = (scratch.state.collections.iter())
        .filter(|(_, c)| c.feeds.contains(feed))
        .map(|(id, _)| id.clone())
        .collect();
    for collection_id in collections {
        let payload = EventPayload::CollectionFeedRemoved {
            collection_id,
            feed: feed.clone(),
        };
        scratch.push(payload, u);
    }
}

fn subscribe(scratch: &mut Scratch<'_>, feed: &FeedUrl, current: &Subscription, s: DateTime<Utc>) {
    if current.is_active() {
        // Still subscribed, since a later time: an unsubscription in between must not win.
        let payload = EventPayload::Subscribed {
            feed: feed.clone(),
            source_id: current.source_id.clone(),
            subscribed_at: s,
        };
        scratch.push(payload, s);
        return;
    }
    // Subscribing again: the default collection follows, and the limit applies (what exceeds
    // it is left out).
    let source = (current.source_id.as_deref()).and_then(|id| SourceId::parse(id).ok());
    if let Ok(events) = subscriptions::subscribe(&scratch.state, feed, source.as_ref(), s) {
        for event in events {
            scratch.push(event, s);
        }
    }
}

/// A play status as the merge compares them: the newer time, then the rank (reset > played >
/// unplayed), then the larger position and duration. A total order, so that the result of
/// several uploads does not depend on their order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct PlayKey {
    updated_at: DateTime<Utc>,
    rank: u8,
    position: u64,
    duration: Option<u64>,
}

fn key(updated_at: DateTime<Utc>, played: bool, position: u64, duration: Option<u64>) -> PlayKey {
    let rank = match (played, position) {
        (false, 0) => 2,
        (true, _) => 1,
        (false, _) => 0,
    };
    PlayKey {
        updated_at,
        rank,
        position,
        duration,
    }
}

/// What an uploaded status becomes on the server: a reset is unplayed at 0; a position beyond
/// the duration (the upload's, else the one known) is clamped.
fn applied(play: &SyncPlay, known: Option<&Episode>) -> (u64, Option<u64>, bool) {
    let duration = (play.duration.map(|d| d.get())).or(known.and_then(|e| e.duration));
    if play.reset {
        return (0, duration, false);
    }
    let position = duration.map_or(play.position.get(), |d| play.position.get().min(d));
    (position, duration, play.played)
}

/// Whether the upload wins over the server's status (`None`: the server has none): `Greater`
/// when it does, `Equal` when it is the same status, `Less` when the server's is kept.
fn play_wins(state: &UserState, play: &SyncPlay, updated_at: DateTime<Utc>) -> Ordering {
    let item = resolve(state, &play.feed, &play.item);
    let known = state.episodes.get(&item);
    let (position, duration, played) = applied(play, known);
    let upload = key(updated_at, played, position, duration);
    match known.and_then(|e| {
        e.updated_at
            .map(|u| key(u, e.played, e.position, e.duration))
    }) {
        None => Ordering::Greater,
        Some(server) => upload.cmp(&server),
    }
}

fn play(scratch: &mut Scratch<'_>, play: &SyncPlay) {
    let at = scratch.clamp(play.updated_at);
    if play_wins(&scratch.state, play, at) != Ordering::Greater {
        return;
    }
    let item = resolve(&scratch.state, &play.feed, &play.item);
    let known = scratch.state.episodes.get(&item);
    if known.is_none() && scratch.state.episodes.len() >= MAX_EPISODES {
        return;
    }
    let (position, duration, played) = applied(play, known);
    let payload = EventPayload::PlayRecorded {
        feed: play.feed.clone(),
        item,
        position,
        duration,
        played,
    };
    scratch.push(payload, at);
}

#[cfg(test)]
mod tests;
