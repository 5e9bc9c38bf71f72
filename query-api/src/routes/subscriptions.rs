//! `GET /api/v1/subscriptions`: the caller's active subscriptions.

use crate::QueryState;
use axum::extract::State;
use balados_platform::http::{ApiError, Authenticated, Json};
use chrono::{DateTime, Utc};
use serde::Serialize;

#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct Subscription {
    /// base64url of the feed URL: the id to use in URLs.
    rss_source_feed: String,
    feed_url: String,
    rss_source_id: Option<String>,
    subscribed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize)]
pub struct Subscriptions {
    subscriptions: Vec<Subscription>,
}

pub async fn list(
    State(state): State<QueryState>,
    auth: Authenticated,
) -> Result<Json<Subscriptions>, ApiError> {
    let subscriptions = sqlx::query_as::<_, Subscription>(
        "SELECT feed_id AS rss_source_feed, feed_url, source_id AS rss_source_id, subscribed_at
         FROM users.subscriptions
         WHERE user_id = $1 AND subscribed_at IS NOT NULL
           AND (unsubscribed_at IS NULL OR unsubscribed_at <= subscribed_at)
         ORDER BY subscribed_at DESC, feed_id",
    )
    .bind(auth.user.as_str())
    .fetch_all(&state.pool)
    .await
    .map_err(super::unavailable)?;
    Ok(Json(Subscriptions { subscriptions }))
}
