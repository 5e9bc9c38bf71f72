//! Collections: named, ordered groups of subscribed feeds. Every user has one default collection
//! (created with the first subscription), which cannot be deleted.

use super::decide::{Rejection, Ruling, limit, list_fits};
use super::state::{Collection, UserState};
use super::subscriptions::DEFAULT_COLLECTION_ID;
use balados_schemas::RejectionCode;
use balados_schemas::{EventPayload, FeedUrl, LocalId, Name};

/// Collections one user may hold (the default one included).
pub const MAX_COLLECTIONS: usize = 100;

fn existing<'a>(state: &'a UserState, collection_id: &str) -> Result<&'a Collection, Rejection> {
    state.collections.get(collection_id).ok_or_else(|| {
        Rejection::new(
            RejectionCode::NotFound,
            format!("no collection {collection_id:?}"),
        )
    })
}

/// Create a collection with a new id (`default` is reserved).
pub fn create(state: &UserState, collection_id: &LocalId, title: &Name, public: bool) -> Ruling {
    let collection_id = collection_id.as_str();
    if collection_id == DEFAULT_COLLECTION_ID {
        return Err(Rejection::new(
            RejectionCode::InvalidId,
            format!("{DEFAULT_COLLECTION_ID:?} is reserved for the default collection"),
        ));
    }
    if state.collections.contains_key(collection_id) {
        return Err(Rejection::new(
            RejectionCode::AlreadyExists,
            format!("a collection {collection_id:?} already exists"),
        ));
    }
    if state.collections.len() >= MAX_COLLECTIONS {
        return Err(limit("collections", MAX_COLLECTIONS));
    }
    Ok(vec![EventPayload::CollectionCreated {
        collection_id: collection_id.to_owned(),
        title: title.to_string(),
        is_default: false,
        public,
    }])
}

/// Retitle or change the visibility of a collection; only what changes is emitted.
pub fn update(
    state: &UserState,
    collection_id: &str,
    title: Option<&Name>,
    public: Option<bool>,
) -> Ruling {
    let current = existing(state, collection_id)?;
    let mut events = Vec::new();
    if let Some(title) = title.filter(|t| t.as_str() != current.title) {
        events.push(EventPayload::CollectionUpdated {
            collection_id: collection_id.to_owned(),
            title: title.to_string(),
        });
    }
    if let Some(public) = public.filter(|p| *p != current.public) {
        events.push(EventPayload::CollectionVisibilityChanged {
            collection_id: collection_id.to_owned(),
            public,
        });
    }
    Ok(events)
}

/// Delete a collection, never the default one.
pub fn delete(state: &UserState, collection_id: &str) -> Ruling {
    if existing(state, collection_id)?.is_default {
        return Err(Rejection::new(
            RejectionCode::CannotDeleteDefaultCollection,
            "the default collection cannot be deleted",
        ));
    }
    Ok(vec![EventPayload::CollectionDeleted {
        collection_id: collection_id.to_owned(),
    }])
}

/// Append a subscribed feed; one already there changes nothing.
pub fn add_feed(state: &UserState, collection_id: &str, feed: &FeedUrl) -> Ruling {
    let collection = existing(state, collection_id)?;
    if !state.is_subscribed(feed) {
        return Err(Rejection::new(
            RejectionCode::FeedNotSubscribed,
            "subscribe to the feed before adding it to a collection",
        ));
    }
    if collection.feeds.contains(feed) {
        return Ok(vec![]);
    }
    list_fits(collection.bytes(), feed.as_str().len())?;
    Ok(vec![EventPayload::CollectionFeedAdded {
        collection_id: collection_id.to_owned(),
        feed: feed.clone(),
    }])
}

/// Remove a feed; one not there changes nothing.
pub fn remove_feed(state: &UserState, collection_id: &str, feed: &FeedUrl) -> Ruling {
    if !existing(state, collection_id)?.feeds.contains(feed) {
        return Ok(vec![]);
    }
    Ok(vec![EventPayload::CollectionFeedRemoved {
        collection_id: collection_id.to_owned(),
        feed: feed.clone(),
    }])
}

/// Move a feed to a position within the collection.
pub fn move_feed(state: &UserState, collection_id: &str, feed: &FeedUrl, position: i64) -> Ruling {
    let collection = existing(state, collection_id)?;
    let Some(from) = collection.feeds.iter().position(|f| f == feed) else {
        return Err(Rejection::new(
            RejectionCode::NotFound,
            "the feed is not in this collection",
        ));
    };
    let len = collection.feeds.len();
    let to = usize::try_from(position)
        .ok()
        .filter(|p| *p < len)
        .ok_or_else(|| {
            Rejection::new(
                RejectionCode::PositionOutOfBounds,
                format!("position must be between 0 and {}", len - 1),
            )
        })?;
    if to == from {
        return Ok(vec![]);
    }
    Ok(vec![EventPayload::CollectionFeedMoved {
        collection_id: collection_id.to_owned(),
        feed: feed.clone(),
        position: u32::try_from(to).unwrap_or(u32::MAX),
    }])
}
