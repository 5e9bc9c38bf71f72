//! Public statistics, without authentication: trending podcasts and episodes over a window, the
//! popularity of one podcast or episode, and the timeline of public events. Everything here comes
//! from `site.*`, which holds only what the owners' privacy lets out (anonymous events without
//! their user id).

use super::params::{self, Params, unavailable};
use crate::QueryState;
use axum::extract::{Path, Query, State};
use balados_platform::http::{ApiError, Json};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Default size of the trending lists.
const TRENDING_LIMIT: i64 = 20;
/// How many recent public listeners a popularity answer names.
const RECENT_LISTENERS: i64 = 10;

/// The window a trending list ranks by, in hours; `all` reads the all-time totals.
fn window(query: &Params) -> Result<Option<i32>, ApiError> {
    let period = params::one_of(
        query,
        "period",
        &["day", "week", "month", "all"],
        "invalid_period",
    )?;
    Ok(match period.unwrap_or("day") {
        "day" => Some(24),
        "week" => Some(24 * 7),
        "month" => Some(24 * 30),
        _ => None,
    })
}

#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct TrendingPodcast {
    rss_source_feed: String,
    feed_url: String,
    /// Points in the window (all-time for `period=all`).
    score: i64,
    /// Points in the window of the same length just before (null for `period=all`).
    previous_score: Option<i64>,
    plays: i64,
    likes: i64,
}

#[derive(Debug, Serialize)]
pub struct TrendingPodcasts {
    podcasts: Vec<TrendingPodcast>,
}

/// Sums of the hourly buckets of the window `$1` hours back from now, and of the one before.
macro_rules! windowed {
    ($key:literal, $table:literal, $filter:literal) => {
        concat!(
            "SELECT ", $key, ",
                    sum(score) FILTER (WHERE bucket > now() - make_interval(hours => $1))::bigint AS score,
                    sum(score) FILTER (WHERE bucket <= now() - make_interval(hours => $1))::bigint AS previous_score,
                    sum(plays) FILTER (WHERE bucket > now() - make_interval(hours => $1))::bigint AS plays,
                    sum(likes) FILTER (WHERE bucket > now() - make_interval(hours => $1))::bigint AS likes
             FROM ", $table, "
             WHERE bucket > now() - make_interval(hours => 2 * $1) AND bucket <= now() ", $filter, "
             GROUP BY ", $key
        )
    };
}

pub async fn trending_podcasts(
    State(state): State<QueryState>,
    Query(query): Query<Params>,
) -> Result<Json<TrendingPodcasts>, ApiError> {
    let limit = params::limit(&query, TRENDING_LIMIT)?;
    let podcasts = match window(&query)? {
        Some(hours) => sqlx::query_as::<_, TrendingPodcast>(concat!(
            "WITH w AS (",
            windowed!("feed_id", "site.podcast_popularity_hourly", ""),
            ")
             SELECT w.feed_id AS rss_source_feed, p.feed_url, w.score,
                    COALESCE(w.previous_score, 0) AS previous_score,
                    COALESCE(w.plays, 0) AS plays, COALESCE(w.likes, 0) AS likes
             FROM w JOIN site.podcast_popularity p USING (feed_id)
             WHERE w.score > 0
             ORDER BY w.score DESC, w.feed_id LIMIT $2"
        ))
        .bind(hours)
        .bind(limit),
        None => sqlx::query_as::<_, TrendingPodcast>(
            "SELECT feed_id AS rss_source_feed, feed_url, score, NULL::bigint AS previous_score,
                    plays, likes
             FROM site.podcast_popularity WHERE score > 0
             ORDER BY score DESC, feed_id LIMIT $1",
        )
        .bind(limit),
    }
    .fetch_all(&state.pool)
    .await
    .map_err(unavailable)?;
    Ok(Json(TrendingPodcasts { podcasts }))
}

#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct TrendingEpisode {
    rss_source_item: String,
    rss_source_feed: String,
    feed_url: String,
    guid: String,
    enclosure_url: String,
    score: i64,
    previous_score: Option<i64>,
    plays: i64,
    likes: i64,
}

#[derive(Debug, Serialize)]
pub struct TrendingEpisodes {
    episodes: Vec<TrendingEpisode>,
}

pub async fn trending_episodes(
    State(state): State<QueryState>,
    Query(query): Query<Params>,
) -> Result<Json<TrendingEpisodes>, ApiError> {
    let limit = params::limit(&query, TRENDING_LIMIT)?;
    let feed = params::feed(&query, "feed")?;
    let episodes = match window(&query)? {
        Some(hours) => sqlx::query_as::<_, TrendingEpisode>(concat!(
            "WITH w AS (",
            windowed!(
                "item_id",
                "site.episode_popularity_hourly",
                "AND ($3::text IS NULL OR feed_id = $3)"
            ),
            ")
             SELECT w.item_id AS rss_source_item, e.feed_id AS rss_source_feed, e.feed_url, e.guid,
                    e.enclosure_url, w.score, COALESCE(w.previous_score, 0) AS previous_score,
                    COALESCE(w.plays, 0) AS plays, COALESCE(w.likes, 0) AS likes
             FROM w JOIN site.episode_popularity e USING (item_id)
             WHERE w.score > 0
             ORDER BY w.score DESC, w.item_id LIMIT $2"
        ))
        .bind(hours)
        .bind(limit)
        .bind(feed),
        None => sqlx::query_as::<_, TrendingEpisode>(
            "SELECT item_id AS rss_source_item, feed_id AS rss_source_feed, feed_url, guid,
                    enclosure_url, score, NULL::bigint AS previous_score, plays, likes
             FROM site.episode_popularity
             WHERE score > 0 AND ($2::text IS NULL OR feed_id = $2)
             ORDER BY score DESC, item_id LIMIT $1",
        )
        .bind(limit)
        .bind(feed),
    }
    .fetch_all(&state.pool)
    .await
    .map_err(unavailable)?;
    Ok(Json(TrendingEpisodes { episodes }))
}

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
             FROM ", $table, " WHERE ", $key, " = $1
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
    Path(feed): Path<String>,
) -> Result<Json<OnePodcast>, ApiError> {
    let feed = params::feed_id(&feed, "feed")?;
    let totals = sqlx::query_as::<_, PodcastTotals>(
        "SELECT feed_id AS rss_source_feed, feed_url, score, plays, likes, subscribes, shares
         FROM site.podcast_popularity WHERE feed_id = $1",
    )
    .bind(&feed)
    .fetch_optional(&state.pool)
    .await
    .map_err(unavailable)?
    .ok_or_else(|| ApiError::not_found("no public activity for this podcast"))?;
    let windows =
        sqlx::query_as::<_, Windows>(windows_of!("feed_id", "site.podcast_popularity_hourly"))
            .bind(&feed)
            .fetch_one(&state.pool)
            .await
            .map_err(unavailable)?;
    let recent_listeners = sqlx::query_as::<_, Listener>(
        "SELECT user_id, event_type, occurred_at FROM site.public_events
         WHERE feed_id = $1 AND user_id IS NOT NULL
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
    Path(item): Path<String>,
) -> Result<Json<OneEpisode>, ApiError> {
    let item = params::item_id(&item, "item")?;
    let totals = sqlx::query_as::<_, EpisodeTotals>(
        "SELECT item_id AS rss_source_item, feed_id AS rss_source_feed, feed_url, guid,
                enclosure_url, score, plays, likes, shares
         FROM site.episode_popularity WHERE item_id = $1",
    )
    .bind(&item)
    .fetch_optional(&state.pool)
    .await
    .map_err(unavailable)?
    .ok_or_else(|| ApiError::not_found("no public activity for this episode"))?;
    let windows =
        sqlx::query_as::<_, Windows>(windows_of!("item_id", "site.episode_popularity_hourly"))
            .bind(&item)
            .fetch_one(&state.pool)
            .await
            .map_err(unavailable)?;
    let recent_listeners = sqlx::query_as::<_, Listener>(
        "SELECT user_id, event_type, occurred_at FROM site.public_events
         WHERE item_id = $1 AND user_id IS NOT NULL
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

/// `GET /api/v1/public/timeline`: public events, newest first; filters `event_type`, `feed`,
/// `item`, `user_id`; paging `limit` and `offset` or `cursor`.
pub async fn timeline(
    State(state): State<QueryState>,
    Query(query): Query<Params>,
) -> Result<Json<Timeline>, ApiError> {
    let (limit, offset) = params::paging(&query)?;
    let after = params::cursor(&query)?;
    let (after_time, after_id) = match after {
        Some((time, id)) => {
            let id = uuid::Uuid::parse_str(&id).map_err(|_| {
                ApiError::validation("invalid_cursor", "cursor is not one this API gave")
            })?;
            (Some(time), Some(id))
        }
        None => (None, None),
    };
    let event_type = params::one_of(
        &query,
        "event_type",
        &["subscribe", "play", "save", "share"],
        "invalid_event_type",
    )?;
    let feed = params::feed(&query, "feed")?;
    let item = params::item(&query, "item")?;
    let user = query.get("user_id");
    let events = sqlx::query_as::<_, PublicEvent>(
        "SELECT event_id, event_type, user_id, feed_id AS rss_source_feed, feed_url,
                item_id AS rss_source_item, guid, enclosure_url, occurred_at
         FROM site.public_events
         WHERE ($1::text IS NULL OR event_type = $1) AND ($2::text IS NULL OR feed_id = $2)
           AND ($3::text IS NULL OR item_id = $3) AND ($4::text IS NULL OR user_id = $4)
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
    let next_cursor = events
        .last()
        .filter(|_| events.len() == usize::try_from(limit).unwrap_or(usize::MAX))
        .map(|last| params::next_cursor(last.occurred_at, &last.event_id.to_string()));
    Ok(Json(Timeline {
        events,
        pagination: TimelinePage {
            limit,
            offset,
            next_cursor,
        },
    }))
}
