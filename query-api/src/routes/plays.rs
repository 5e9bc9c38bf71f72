//! `GET /api/v1/play`: the caller's play statuses, newest first, with the filters `played` and
//! `feed` and the paging `limit` (≤ 100) and either `offset` (≤ 10,000) or `cursor` (the
//! `next_cursor` of the previous page: stable while plays are being recorded, unlike an offset).

use super::params::{self, Paged};
use super::query::{FromParams, TypedQuery};
use super::unavailable;
use crate::QueryState;
use axum::extract::State;
use balados_platform::http::{ApiError, Authenticated, Json};
use chrono::{DateTime, Utc};
use serde::Serialize;

#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct PlayStatus {
    /// Item id (base64url of "guid,enclosure_url") and feed id, as used in URLs.
    rss_source_item: String,
    rss_source_feed: String,
    feed_url: String,
    guid: String,
    enclosure_url: String,
    position: i64,
    duration: Option<i64>,
    played: bool,
    updated_at: Option<DateTime<Utc>>,
    saved_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize)]
pub struct Pagination {
    #[serde(flatten)]
    paged: Paged,
    /// The cursor of the next page; null on the last one.
    next_cursor: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct PlayStatuses {
    play_statuses: Vec<PlayStatus>,
    pagination: Pagination,
}

/// The rows a request selects: the caller's play statuses ($1), `played` ($2) and `feed` ($3).
macro_rules! filter {
    () => {
        "user_id = $1 AND updated_at IS NOT NULL
         AND ($2::bool IS NULL OR played = $2) AND ($3::text IS NULL OR feed_id = $3)"
    };
}

/// `GET /api/v1/play`'s parameters: paging, `played`, `feed`.
#[derive(Debug)]
pub struct PlaysQuery {
    page: params::KeysetPage,
    played: Option<bool>,
    feed: Option<String>,
}

impl FromParams for PlaysQuery {
    fn from_params(raw: &params::Params) -> Result<Self, ApiError> {
        Ok(Self {
            page: params::keyset_paging(raw)?,
            played: params::boolean(raw, "played")?,
            feed: params::feed(raw, "feed")?,
        })
    }
}

pub async fn list(
    State(state): State<QueryState>,
    auth: Authenticated,
    TypedQuery(PlaysQuery { page, played, feed }): TypedQuery<PlaysQuery>,
) -> Result<Json<PlayStatuses>, ApiError> {
    let params::KeysetPage {
        limit,
        offset,
        after,
    } = page;
    let (after_time, after_item) = after.map(|c| (c.time, c.id)).unzip();
    let play_statuses = sqlx::query_as::<_, PlayStatus>(concat!(
        "SELECT item_id AS rss_source_item, feed_id AS rss_source_feed, feed_url, guid,
                enclosure_url, position, duration, played, updated_at, saved_at
         FROM users.play_statuses WHERE ",
        filter!(),
        " AND ($6::timestamptz IS NULL OR (updated_at, item_key) < ($6, site.id_key($7)))
         ORDER BY updated_at DESC, item_key DESC LIMIT $4 OFFSET $5"
    ))
    .bind(auth.user.as_str())
    .bind(played)
    .bind(&feed)
    .bind(limit)
    .bind(offset)
    .bind(after_time)
    .bind(after_item)
    .fetch_all(&state.pool)
    .await
    .map_err(unavailable)?;
    let (total,): (i64,) = sqlx::query_as(concat!(
        "SELECT count(*) FROM users.play_statuses WHERE ",
        filter!()
    ))
    .bind(auth.user.as_str())
    .bind(played)
    .bind(&feed)
    .fetch_one(&state.pool)
    .await
    .map_err(unavailable)?;
    let next_cursor = params::next_cursor(&play_statuses, limit, |last| {
        Some((last.updated_at?, last.rss_source_item.clone()))
    });
    Ok(Json(PlayStatuses {
        play_statuses,
        pagination: Pagination {
            paged: Paged {
                limit,
                offset,
                total,
            },
            next_cursor,
        },
    }))
}
