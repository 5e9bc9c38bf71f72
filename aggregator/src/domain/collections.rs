//! Collections: named, ordered groups of subscribed feeds. Every user has one default collection
//! (created with the first subscription), which cannot be deleted.

use super::decide::{Rejection, Ruling, id, limit, name};
use super::state::{Collection, UserState};
use super::subscriptions::DEFAULT_COLLECTION_ID;
use balados_schemas::{CommandPayload, EventPayload};

/// Collections one user may hold (the default one included).
pub const MAX_COLLECTIONS: usize = 100;

fn existing<'a>(state: &'a UserState, collection_id: &str) -> Result<&'a Collection, Rejection> {
    state
        .collections
        .get(collection_id)
        .ok_or_else(|| Rejection::new("not_found", format!("no collection {collection_id:?}")))
}

pub fn decide(state: &UserState, command: &CommandPayload) -> Ruling {
    let events = match command {
        CommandPayload::CreateCollection {
            collection_id,
            title,
            public,
        } => {
            id("invalid_id", "collection id", collection_id, false)?;
            if collection_id == DEFAULT_COLLECTION_ID {
                return Err(Rejection::new(
                    "invalid_id",
                    format!("{DEFAULT_COLLECTION_ID:?} is reserved for the default collection"),
                ));
            }
            let title = name("invalid_title", "title", title)?;
            if state.collections.contains_key(collection_id) {
                return Err(Rejection::new(
                    "already_exists",
                    format!("a collection {collection_id:?} already exists"),
                ));
            }
            if state.collections.len() >= MAX_COLLECTIONS {
                return Err(limit("collections", MAX_COLLECTIONS));
            }
            vec![EventPayload::CollectionCreated {
                collection_id: collection_id.clone(),
                title,
                is_default: false,
                public: *public,
            }]
        }
        CommandPayload::UpdateCollection {
            collection_id,
            title,
            public,
        } => {
            let current = existing(state, collection_id)?;
            let mut events = Vec::new();
            if let Some(raw) = title {
                let title = name("invalid_title", "title", raw)?;
                if title != current.title {
                    events.push(EventPayload::CollectionUpdated {
                        collection_id: collection_id.clone(),
                        title,
                    });
                }
            }
            if let Some(public) = public.filter(|p| *p != current.public) {
                events.push(EventPayload::CollectionVisibilityChanged {
                    collection_id: collection_id.clone(),
                    public,
                });
            }
            events
        }
        CommandPayload::DeleteCollection { collection_id } => {
            if existing(state, collection_id)?.is_default {
                return Err(Rejection::new(
                    "cannot_delete_default_collection",
                    "the default collection cannot be deleted",
                ));
            }
            vec![EventPayload::CollectionDeleted {
                collection_id: collection_id.clone(),
            }]
        }
        CommandPayload::AddCollectionFeed {
            collection_id,
            feed,
        } => {
            let collection = existing(state, collection_id)?;
            if !state.is_subscribed(feed) {
                return Err(Rejection::new(
                    "feed_not_subscribed",
                    "subscribe to the feed before adding it to a collection",
                ));
            }
            if collection.feeds.contains(feed) {
                return Ok(vec![]);
            }
            vec![EventPayload::CollectionFeedAdded {
                collection_id: collection_id.clone(),
                feed: feed.clone(),
            }]
        }
        CommandPayload::RemoveCollectionFeed {
            collection_id,
            feed,
        } => {
            if !existing(state, collection_id)?.feeds.contains(feed) {
                return Ok(vec![]);
            }
            vec![EventPayload::CollectionFeedRemoved {
                collection_id: collection_id.clone(),
                feed: feed.clone(),
            }]
        }
        CommandPayload::MoveCollectionFeed {
            collection_id,
            feed,
            position,
        } => {
            let collection = existing(state, collection_id)?;
            let Some(from) = collection.feeds.iter().position(|f| f == feed) else {
                return Err(Rejection::new(
                    "not_found",
                    "the feed is not in this collection",
                ));
            };
            let len = collection.feeds.len();
            let to = usize::try_from(*position)
                .ok()
                .filter(|p| *p < len)
                .ok_or_else(|| {
                    Rejection::new(
                        "position_out_of_bounds",
                        format!("position must be between 0 and {}", len - 1),
                    )
                })?;
            if to == from {
                return Ok(vec![]);
            }
            vec![EventPayload::CollectionFeedMoved {
                collection_id: collection_id.clone(),
                feed: feed.clone(),
                position: u32::try_from(to).unwrap_or(u32::MAX),
            }]
        }
        other => {
            debug_assert!(false, "{} is not a collection command", other.kind());
            Vec::new()
        }
    };
    Ok(events)
}
