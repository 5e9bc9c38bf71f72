//! Subscribe and unsubscribe: last writer wins on the client's time, and the default collection
//! follows the subscriptions.

use super::decide::{Ruling, limit, list_fits};
use super::state::UserState;
use balados_schemas::{EventPayload, FeedUrl, SourceId};
use chrono::{DateTime, Utc};

/// Active subscriptions one user may hold.
pub const MAX_SUBSCRIPTIONS: usize = 5_000;
/// Id of every user's default collection (reserved: no other collection may take it).
pub const DEFAULT_COLLECTION_ID: &str = "default";
pub const DEFAULT_COLLECTION_TITLE: &str = "All Subscriptions";

pub fn subscribe(
    state: &UserState,
    feed: &FeedUrl,
    source_id: Option<&SourceId>,
    at: DateTime<Utc>,
) -> Ruling {
    let current = state.subscriptions.get(feed);
    let active = current.is_some_and(|s| s.is_active());
    if !active && state.active_subscriptions() >= MAX_SUBSCRIPTIONS {
        return Err(limit("subscriptions", MAX_SUBSCRIPTIONS));
    }
    // Last writer wins on the client's time: a subscribe older than the latest unsubscribe
    // changes nothing (a tie keeps the subscription).
    let stale = current
        .and_then(|s| s.unsubscribed_at)
        .is_some_and(|u| at < u);
    let unchanged = active
        && current.is_some_and(|s| s.source_id.as_deref() == source_id.map(SourceId::as_str));
    let mut events = Vec::new();
    if !(stale || unchanged) {
        events.push(EventPayload::Subscribed {
            feed: feed.clone(),
            source_id: source_id.map(SourceId::to_string),
            subscribed_at: at,
        });
    }
    let subscribes = !events.is_empty();
    match state.default_collection() {
        Some((id, default)) if subscribes && !default.feeds.contains(feed) => {
            list_fits(default.bytes(), feed.as_str().len())?;
            events.push(EventPayload::CollectionFeedAdded {
                collection_id: id.clone(),
                feed: feed.clone(),
            });
        }
        Some(_) => {}
        // The first subscription creates the default collection. An aggregate written before
        // collections existed has subscriptions and no default collection: its next subscribe
        // creates it, holding every active subscription.
        None if subscribes || current.is_some() => {
            events.push(EventPayload::CollectionCreated {
                collection_id: DEFAULT_COLLECTION_ID.to_owned(),
                title: DEFAULT_COLLECTION_TITLE.to_owned(),
                is_default: true,
                public: false,
            });
            let mut feeds: Vec<&FeedUrl> = state
                .subscriptions
                .iter()
                .filter(|(f, s)| s.is_active() && *f != feed)
                .map(|(f, _)| f)
                .collect();
            feeds.sort();
            if subscribes || active {
                feeds.push(feed);
            }
            events.extend(
                feeds
                    .into_iter()
                    .map(|f| EventPayload::CollectionFeedAdded {
                        collection_id: DEFAULT_COLLECTION_ID.to_owned(),
                        feed: f.clone(),
                    }),
            );
        }
        None => {}
    }
    Ok(events)
}

/// Unsubscribing from a feed one does not follow is a no-op, so DELETE stays idempotent. The feed
/// leaves every collection: a collection holds only subscribed feeds.
pub fn unsubscribe(state: &UserState, feed: &FeedUrl, at: DateTime<Utc>) -> Ruling {
    let Some(sub) = state.subscriptions.get(feed) else {
        return Ok(vec![]);
    };
    if !sub.is_active() || sub.subscribed_at.is_some_and(|t| at <= t) {
        return Ok(vec![]);
    }
    let mut events = vec![EventPayload::Unsubscribed {
        feed: feed.clone(),
        unsubscribed_at: at,
    }];
    events.extend(
        state
            .collections
            .iter()
            .filter(|(_, c)| c.feeds.contains(feed))
            .map(|(id, _)| EventPayload::CollectionFeedRemoved {
                collection_id: id.clone(),
                feed: feed.clone(),
            }),
    );
    Ok(events)
}
