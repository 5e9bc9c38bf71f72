//! `GET /api/v1/public/feed/{feed}/popularity` and `/episode/{item}/popularity`: totals, the
//! standard windows and the most recent public listeners.

use crate::QueryState;
use crate::routes::params;
use crate::routes::unavailable;
use axum::extract::State;
use balados_platform::http::{ApiError, Json, PathParams};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// How many recent public listeners a popularity answer names.
const RECENT_LISTENERS: i64 = 10;

/// Scores of one podcast or episode over the standard windows.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct Windows {
    score_24h: i64,
    score_previous_24h: i64,
    score_7d: i64,
    score_30d: i64,
}

/// `$1`: the key; the table's key column and name are given.
macro_rules! windows_of {
    ($key:literal, $table:literal) => {
        concat!(
            "SELECT COALESCE(sum(score) FILTER (WHERE bucket > now() - interval '24 hours'), 0)::bigint AS score_24h,
                    COALESCE(sum(score) FILTER (WHERE bucket <= now() - interval '24 hours'
                                                  AND bucket > now() - interval '48 hours'), 0)::bigint AS score_previous_24h,
                    COALESCE(sum(score) FILTER (WHERE bucket > now() - interval '7 days'), 0)::bigint AS score_7d,
                    COALESCE(sum(score), 0)::bigint AS score_30d
             FROM ", $table, " WHERE ", $key, " = site.id_key($1)
               AND bucket > now() - interval '30 days' AND bucket <= now()"
        )
    };
}

#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct Listener {
    user_id: String,
    event_type: String,
    occurred_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct PodcastTotals {
    rss_source_feed: String,
    feed_url: String,
    score: i64,
    plays: i64,
    likes: i64,
    subscribes: i64,
    shares: i64,
}

#[derive(Debug, Serialize)]
pub struct PodcastPopularity {
    #[serde(flatten)]
    totals: PodcastTotals,
    #[serde(flatten)]
    windows: Windows,
    /// The most recent public (not anonymous) listeners, newest first.
    recent_listeners: Vec<Listener>,
}

#[derive(Debug, Serialize)]
pub struct OnePodcast {
    popularity: PodcastPopularity,
}

pub async fn feed_popularity(
    State(state): State<QueryState>,
    PathParams(feed): PathParams<String>,
) -> Result<Json<OnePodcast>, ApiError> {
    let feed = params::feed_id(&feed, "feed")?;
    let totals = sqlx::query_as::<_, PodcastTotals>(
        "SELECT feed_id AS rss_source_feed, feed_url, score, plays, likes, subscribes, shares
         FROM site.podcast_popularity WHERE feed_key = site.id_key($1)",
    )
    .bind(&feed)
    .fetch_optional(&state.pool)
    .await
    .map_err(unavailable)?
    .ok_or_else(|| ApiError::not_found("no public activity for this podcast"))?;
    let windows =
        sqlx::query_as::<_, Windows>(windows_of!("feed_key", "site.podcast_popularity_hourly"))
            .bind(&feed)
            .fetch_one(&state.pool)
            .await
            .map_err(unavailable)?;
    let recent_listeners = sqlx::query_as::<_, Listener>(
        "SELECT user_id, event_type, occurred_at FROM site.public_events
         WHERE feed_key = site.id_key($1) AND user_id IS NOT NULL
         ORDER BY occurred_at DESC, event_id DESC LIMIT $2",
    )
    .bind(&feed)
    .bind(RECENT_LISTENERS)
    .fetch_all(&state.pool)
    .await
    .map_err(unavailable)?;
    Ok(Json(OnePodcast {
        popularity: PodcastPopularity {
            totals,
            windows,
            recent_listeners,
        },
    }))
}

#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct EpisodeTotals {
    rss_source_item: String,
    rss_source_feed: String,
    feed_url: String,
    guid: String,
    enclosure_url: String,
    score: i64,
    plays: i64,
    likes: i64,
    shares: i64,
}

#[derive(Debug, Serialize)]
pub struct EpisodePopularity {
    #[serde(flatten)]
    totals: EpisodeTotals,
    #[serde(flatten)]
    windows: Windows,
    recent_listeners: Vec<Listener>,
}

#[derive(Debug, Serialize)]
pub struct OneEpisode {
    popularity: EpisodePopularity,
}

pub async fn episode_popularity(
    State(state): State<QueryState>,
    PathParams(item): PathParams<String>,
) -> Result<Json<OneEpisode>, ApiError> {
    let item = params::item_id(&item, "item")?;
    let totals = sqlx::query_as::<_, EpisodeTotals>(
        "SELECT item_id AS rss_source_item, feed_id AS rss_source_feed, feed_url, guid,
                enclosure_url, score, plays, likes, shares
         FROM site.episode_popularity WHERE item_key = site.id_key($1)",
    )
    .bind(&item)
    .fetch_optional(&state.pool)
    .await
    .map_err(unavailable)?
    .ok_or_else(|| ApiError::not_found("no public activity for this episode"))?;
    let windows =
        sqlx::query_as::<_, Windows>(windows_of!("item_key", "site.episode_popularity_hourly"))
            .bind(&item)
            .fetch_one(&state.pool)
            .await
            .map_err(unavailable)?;
    let recent_listeners = sqlx::query_as::<_, Listener>(
        "SELECT user_id, event_type, occurred_at FROM site.public_events
         WHERE item_key = site.id_key($1) AND user_id IS NOT NULL
         ORDER BY occurred_at DESC, event_id DESC LIMIT $2",
    )
    .bind(&item)
    .bind(RECENT_LISTENERS)
    .fetch_all(&state.pool)
    .await
    .map_err(unavailable)?;
    Ok(Json(OneEpisode {
        popularity: EpisodePopularity {
            totals,
            windows,
            recent_listeners,
        },
    }))
}
