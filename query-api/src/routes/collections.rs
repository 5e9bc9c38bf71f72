//! `GET /api/v1/collections` (the caller's collections with their sizes, paged, the default one
//! first) and `GET /api/v1/collections/{id}` (one collection with its feeds, in order).

use super::params::{self, Paged};
use super::query::{Page, TypedQuery};
use super::unavailable;
use crate::QueryState;
use axum::extract::State;
use balados_platform::http::{ApiError, Authenticated, Json, PathParams};
use chrono::{DateTime, Utc};
use serde::Serialize;

#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct Collection {
    id: String,
    title: String,
    is_default: bool,
    public: bool,
    feeds_count: i64,
}

#[derive(Debug, Serialize)]
pub struct Collections {
    collections: Vec<Collection>,
    pagination: Paged,
}

pub async fn list(
    State(state): State<QueryState>,
    auth: Authenticated,
    TypedQuery(Page { limit, offset }): TypedQuery<Page>,
) -> Result<Json<Collections>, ApiError> {
    let collections = sqlx::query_as::<_, Collection>(
        "SELECT c.collection_id AS id, c.title, c.is_default, c.public,
                (SELECT count(*) FROM users.collection_feeds f
                 WHERE f.user_id = c.user_id AND f.collection_id = c.collection_id) AS feeds_count
         FROM users.collections c WHERE c.user_id = $1
         ORDER BY c.is_default DESC, c.title, c.collection_id LIMIT $2 OFFSET $3",
    )
    .bind(auth.user.as_str())
    .bind(limit)
    .bind(offset)
    .fetch_all(&state.pool)
    .await
    .map_err(unavailable)?;
    let (total,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM users.collections WHERE user_id = $1")
            .bind(auth.user.as_str())
            .fetch_one(&state.pool)
            .await
            .map_err(unavailable)?;
    Ok(Json(Collections {
        collections,
        pagination: Paged {
            limit,
            offset,
            total,
        },
    }))
}

#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct Feed {
    position: i32,
    rss_source_feed: String,
    feed_url: String,
    /// When the caller subscribed to it.
    subscribed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize)]
pub struct CollectionDetail {
    #[serde(flatten)]
    collection: Collection,
    feeds: Vec<Feed>,
}

#[derive(Debug, Serialize)]
pub struct One {
    collection: CollectionDetail,
}

pub async fn get(
    State(state): State<QueryState>,
    auth: Authenticated,
    PathParams(id): PathParams<String>,
) -> Result<Json<One>, ApiError> {
    let id = params::list_id(&id)?;
    let collection = sqlx::query_as::<_, Collection>(
        "SELECT collection_id AS id, title, is_default, public, 0::bigint AS feeds_count
         FROM users.collections WHERE user_id = $1 AND collection_id = $2",
    )
    .bind(auth.user.as_str())
    .bind(id)
    .fetch_optional(&state.pool)
    .await
    .map_err(unavailable)?
    .ok_or_else(|| ApiError::not_found("no such collection"))?;
    let feeds = sqlx::query_as::<_, Feed>(
        "SELECT f.position, f.feed_id AS rss_source_feed, f.feed_url, s.subscribed_at
         FROM users.collection_feeds f
         LEFT JOIN users.subscriptions s ON s.user_id = f.user_id AND s.feed_key = site.id_key(f.feed_id)
         WHERE f.user_id = $1 AND f.collection_id = $2 ORDER BY f.position",
    )
    .bind(auth.user.as_str())
    .bind(id)
    .fetch_all(&state.pool)
    .await
    .map_err(unavailable)?;
    let collection = Collection {
        feeds_count: i64::try_from(feeds.len()).unwrap_or(i64::MAX),
        ..collection
    };
    Ok(Json(One {
        collection: CollectionDetail { collection, feeds },
    }))
}
