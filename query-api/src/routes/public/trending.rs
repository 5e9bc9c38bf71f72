//! `GET /api/v1/public/trending/podcasts|episodes`: best scores over a window.

use crate::QueryState;
use crate::routes::params::{self, Params};
use crate::routes::query::{FromParams, TypedQuery};
use crate::routes::unavailable;
use axum::extract::State;
use balados_platform::http::{ApiError, Json};
use serde::Serialize;

/// Default size of the trending lists.
const TRENDING_LIMIT: i64 = 20;
/// A trending list's parameters: `limit` and `period` (as its window in hours, `None` for all
/// time).
#[derive(Debug)]
pub struct TrendingQuery {
    limit: i64,
    window: Option<i32>,
}

impl FromParams for TrendingQuery {
    fn from_params(raw: &Params) -> Result<Self, ApiError> {
        Ok(Self {
            limit: params::limit(raw, TRENDING_LIMIT)?,
            window: window(raw)?,
        })
    }
}

/// The episodes' list also takes `feed` (the episodes of one feed).
#[derive(Debug)]
pub struct EpisodesQuery {
    trending: TrendingQuery,
    feed: Option<String>,
}

impl FromParams for EpisodesQuery {
    fn from_params(raw: &Params) -> Result<Self, ApiError> {
        Ok(Self {
            trending: TrendingQuery::from_params(raw)?,
            feed: params::feed(raw, "feed")?,
        })
    }
}

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
    TypedQuery(TrendingQuery { limit, window }): TypedQuery<TrendingQuery>,
) -> Result<Json<TrendingPodcasts>, ApiError> {
    let podcasts = match window {
        Some(hours) => sqlx::query_as::<_, TrendingPodcast>(concat!(
            "WITH w AS (",
            windowed!("feed_key", "site.podcast_popularity_hourly", ""),
            ")
             SELECT p.feed_id AS rss_source_feed, p.feed_url, w.score,
                    COALESCE(w.previous_score, 0) AS previous_score,
                    COALESCE(w.plays, 0) AS plays, COALESCE(w.likes, 0) AS likes
             FROM w JOIN site.podcast_popularity p USING (feed_key)
             WHERE w.score > 0
             ORDER BY w.score DESC, p.feed_id LIMIT $2"
        ))
        .bind(hours)
        .bind(limit)
        .fetch_all(&state.pool)
        .await
        .map_err(unavailable)?,
        // The all-time ranking is shared with the gpodder toplist.
        None => crate::toplist::all_time_podcasts(&state.pool, limit)
            .await
            .map_err(unavailable)?
            .into_iter()
            .map(|p| TrendingPodcast {
                rss_source_feed: p.feed_id,
                feed_url: p.feed_url,
                score: p.score,
                previous_score: None,
                plays: p.plays,
                likes: p.likes,
            })
            .collect(),
    };
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
    TypedQuery(EpisodesQuery {
        trending: TrendingQuery { limit, window },
        feed,
    }): TypedQuery<EpisodesQuery>,
) -> Result<Json<TrendingEpisodes>, ApiError> {
    let episodes = match window {
        Some(hours) => sqlx::query_as::<_, TrendingEpisode>(concat!(
            "WITH w AS (",
            windowed!(
                "item_key",
                "site.episode_popularity_hourly",
                "AND ($3::text IS NULL OR feed_id = $3)"
            ),
            ")
             SELECT e.item_id AS rss_source_item, e.feed_id AS rss_source_feed, e.feed_url, e.guid,
                    e.enclosure_url, w.score, COALESCE(w.previous_score, 0) AS previous_score,
                    COALESCE(w.plays, 0) AS plays, COALESCE(w.likes, 0) AS likes
             FROM w JOIN site.episode_popularity e USING (item_key)
             WHERE w.score > 0
             ORDER BY w.score DESC, e.item_id LIMIT $2"
        ))
        .bind(hours)
        .bind(limit)
        .bind(feed),
        None => sqlx::query_as::<_, TrendingEpisode>(
            "SELECT item_id AS rss_source_item, feed_id AS rss_source_feed, feed_url, guid,
                    enclosure_url, score, NULL::bigint AS previous_score, plays, likes
             FROM site.episode_popularity
             WHERE score > 0 AND ($2::text IS NULL OR feed_key = site.id_key($2))
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
