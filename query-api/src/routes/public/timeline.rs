//! `GET /api/v1/public/timeline`: public events, newest first.

use crate::QueryState;
use crate::cursor::CursorError;
use crate::routes::params::{self, Params};
use crate::routes::query::{FromParams, TypedQuery};
use crate::routes::unavailable;
use axum::extract::State;
use balados_platform::http::{ApiError, Json};
use chrono::{DateTime, Utc};
use serde::Serialize;

#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct PublicEvent {
    event_id: uuid::Uuid,
    event_type: String,
    /// Null for an anonymous event.
    user_id: Option<String>,
    rss_source_feed: String,
    feed_url: String,
    rss_source_item: Option<String>,
    guid: Option<String>,
    enclosure_url: Option<String>,
    occurred_at: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
pub struct TimelinePage {
    limit: i64,
    offset: i64,
    /// The cursor of the next page; null on the last one.
    next_cursor: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Timeline {
    events: Vec<PublicEvent>,
    pagination: TimelinePage,
}

/// The timeline's parameters.
#[derive(Debug)]
pub struct TimelineQuery {
    page: params::KeysetPage,
    event_type: Option<&'static str>,
    feed: Option<String>,
    item: Option<String>,
    user: Option<String>,
}

impl FromParams for TimelineQuery {
    fn from_params(raw: &Params) -> Result<Self, ApiError> {
        Ok(Self {
            page: params::keyset_paging(raw)?,
            event_type: params::one_of(
                raw,
                "event_type",
                &["subscribe", "play", "save", "share"],
                "invalid_event_type",
            )?,
            feed: params::feed(raw, "feed")?,
            item: params::item(raw, "item")?,
            user: params::user(raw, "user_id")?,
        })
    }
}

/// `GET /api/v1/public/timeline`: public events, newest first; filters `event_type`, `feed`,
/// `item`, `user_id`; paging `limit` and `offset` (≤ 10,000) or `cursor`.
pub async fn timeline(
    State(state): State<QueryState>,
    TypedQuery(query): TypedQuery<TimelineQuery>,
) -> Result<Json<Timeline>, ApiError> {
    let TimelineQuery {
        page:
            params::KeysetPage {
                limit,
                offset,
                after,
            },
        event_type,
        feed,
        item,
        user,
    } = query;
    let (after_time, after_id) = match after {
        Some(cursor) => {
            // Public events are keyed by their UUID.
            let id = uuid::Uuid::parse_str(&cursor.id)
                .map_err(|_| params::invalid_cursor(CursorError::Id))?;
            (Some(cursor.time), Some(id))
        }
        None => (None, None),
    };
    let events = sqlx::query_as::<_, PublicEvent>(
        "SELECT event_id, event_type, user_id, feed_id AS rss_source_feed, feed_url,
                item_id AS rss_source_item, guid, enclosure_url, occurred_at
         FROM site.public_events
         WHERE ($1::text IS NULL OR event_type = $1) AND ($2::text IS NULL OR feed_key = site.id_key($2))
           AND ($3::text IS NULL OR item_key = site.id_key($3)) AND ($4::text IS NULL OR user_id = $4)
           AND ($7::timestamptz IS NULL OR (occurred_at, event_id) < ($7, $8))
         ORDER BY occurred_at DESC, event_id DESC LIMIT $5 OFFSET $6",
    )
    .bind(event_type)
    .bind(feed)
    .bind(item)
    .bind(user)
    .bind(limit)
    .bind(offset)
    .bind(after_time)
    .bind(after_id)
    .fetch_all(&state.pool)
    .await
    .map_err(unavailable)?;
    let next_cursor = params::next_cursor(&events, limit, |last| {
        Some((last.occurred_at, last.event_id.to_string()))
    });
    Ok(Json(Timeline {
        events,
        pagination: TimelinePage {
            limit,
            offset,
            next_cursor,
        },
    }))
}
