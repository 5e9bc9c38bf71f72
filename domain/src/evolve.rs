//! `evolve`: applies one event to a user's state, one function per area. Events are applied in
//! sequence order; the sequence is taken from the event.

use crate::state::{Collection, Device, Episode, UserState};
use balados_schemas::{EventEnvelope, EventPayload, FeedUrl, ItemId};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

mod playlists;

pub fn evolve(mut state: UserState, event: &EventEnvelope) -> UserState {
    use EventPayload as E;
    if let E::AccountDeleted {} = event.payload {
        // Nothing of the user survives but the fact, and where their stream ended: no event
        // follows the deletion (`decide` refuses the id from then on), and the meta record keeps
        // pointing at the deletion, so that a restore checks it is in `events`. The recent command
        // ids are the store's bookkeeping, as elsewhere: a retry still gets its first answer.
        return UserState {
            deleted: true,
            sequence: event.sequence,
            sync_position: event.sync_position,
            recent: state.recent,
            events_offset: state.events_offset,
            ..UserState::default()
        };
    }
    state.sequence = event.sequence;
    state.sync_position = event.sync_position;
    let payload = &event.payload;
    match payload {
        E::Subscribed { .. } | E::Unsubscribed { .. } => subscriptions(&mut state, payload),
        E::PlayRecorded { .. }
        | E::PositionUpdated { .. }
        | E::EpisodeSaved { .. }
        | E::EpisodeUnsaved { .. } => episodes(&mut state, payload, event.occurred_at),
        E::PrivacyChanged { scope, privacy } => {
            state.privacy.insert(scope.clone(), *privacy);
        }
        E::PlaylistCreated { .. }
        | E::PlaylistUpdated { .. }
        | E::PlaylistVisibilityChanged { .. }
        | E::PlaylistDeleted { .. }
        | E::PlaylistItemAdded { .. }
        | E::PlaylistItemRemoved { .. }
        | E::PlaylistReordered { .. } => playlists::apply(&mut state, payload, event.occurred_at),
        E::CollectionCreated { .. }
        | E::CollectionUpdated { .. }
        | E::CollectionVisibilityChanged { .. }
        | E::CollectionDeleted { .. }
        | E::CollectionFeedAdded { .. }
        | E::CollectionFeedRemoved { .. }
        | E::CollectionFeedMoved { .. } => collections(&mut state.collections, payload),
        E::DeviceUpserted {
            device_id,
            caption,
            kind,
        } => {
            let device = Device {
                caption: caption.clone(),
                kind: kind.clone(),
            };
            state.devices.insert(device_id.clone(), device);
        }
        E::EpisodeShared { .. } | E::EventsRemoved { .. } | E::AccountDeleted {} => {}
    }
    mark_position(&mut state, payload, event.sync_position);
    state
}

/// Stamps the subscription or episode an event changed with the event's sync position: what the
/// gpodder-style APIs compare `since` with.
fn mark_position(state: &mut UserState, payload: &EventPayload, position: i64) {
    use EventPayload as E;
    match payload {
        E::Subscribed { feed, .. } | E::Unsubscribed { feed, .. } => {
            if let Some(sub) = state.subscriptions.get_mut(feed) {
                sub.sync_position = position;
            }
        }
        E::PlayRecorded { item, .. }
        | E::PositionUpdated { item, .. }
        | E::EpisodeSaved { item, .. }
        | E::EpisodeUnsaved { item, .. } => {
            if let Some(episode) = state.episodes.get_mut(item) {
                episode.sync_position = position;
            }
        }
        _ => {}
    }
}

fn subscriptions(state: &mut UserState, payload: &EventPayload) {
    match payload {
        EventPayload::Subscribed {
            feed,
            source_id,
            subscribed_at,
        } => {
            let sub = state.subscriptions.entry(feed.clone()).or_default();
            sub.subscribed_at = Some(*subscribed_at);
            sub.source_id.clone_from(source_id);
        }
        EventPayload::Unsubscribed {
            feed,
            unsubscribed_at,
        } => {
            let sub = state.subscriptions.entry(feed.clone()).or_default();
            sub.unsubscribed_at = Some(*unsubscribed_at);
        }
        _ => {}
    }
}

fn episodes(state: &mut UserState, payload: &EventPayload, at: DateTime<Utc>) {
    match payload {
        EventPayload::PlayRecorded {
            feed,
            item,
            position,
            duration,
            played,
        } => {
            let episode = episode(state, feed, item);
            episode.feed = feed.clone();
            episode.updated_at = Some(at);
            episode.position = *position;
            episode.duration = *duration;
            episode.played = *played;
        }
        EventPayload::PositionUpdated {
            feed,
            item,
            position,
        } => {
            let episode = episode(state, feed, item);
            episode.updated_at = Some(at);
            episode.position = *position;
        }
        EventPayload::EpisodeSaved { feed, item } => {
            episode(state, feed, item).saved_at = Some(at);
        }
        EventPayload::EpisodeUnsaved { item, .. } => {
            let forget = state.episodes.get_mut(item).is_some_and(|e| {
                e.saved_at = None;
                e.updated_at.is_none()
            });
            if forget {
                state.episodes.remove(item);
            }
        }
        _ => {}
    }
}

fn episode<'a>(state: &'a mut UserState, feed: &FeedUrl, item: &ItemId) -> &'a mut Episode {
    state
        .episodes
        .entry(item.clone())
        .or_insert_with(|| Episode::new(feed.clone()))
}

fn collections(collections: &mut BTreeMap<String, Collection>, payload: &EventPayload) {
    use EventPayload as E;
    if let E::CollectionCreated {
        collection_id,
        title,
        is_default,
        public,
    } = payload
    {
        let collection = Collection {
            title: title.clone(),
            is_default: *is_default,
            public: *public,
            feeds: Vec::new(),
        };
        collections.insert(collection_id.clone(), collection);
        return;
    }
    if let E::CollectionDeleted { collection_id } = payload {
        collections.remove(collection_id);
        return;
    }
    let id = match payload {
        E::CollectionUpdated { collection_id, .. }
        | E::CollectionVisibilityChanged { collection_id, .. }
        | E::CollectionFeedAdded { collection_id, .. }
        | E::CollectionFeedRemoved { collection_id, .. }
        | E::CollectionFeedMoved { collection_id, .. } => collection_id,
        _ => return,
    };
    let Some(c) = collections.get_mut(id) else {
        return;
    };
    match payload {
        E::CollectionUpdated { title, .. } => c.title.clone_from(title),
        E::CollectionVisibilityChanged { public, .. } => c.public = *public,
        E::CollectionFeedAdded { feed, .. } => c.feeds.push(feed.clone()),
        E::CollectionFeedRemoved { feed, .. } => c.feeds.retain(|f| f != feed),
        E::CollectionFeedMoved { feed, position, .. } => {
            if let Some(from) = c.feeds.iter().position(|f| f == feed) {
                let moved = c.feeds.remove(from);
                let to = usize::try_from(*position).map_or(c.feeds.len(), |p| p.min(c.feeds.len()));
                c.feeds.insert(to, moved);
            }
        }
        _ => {}
    }
}
