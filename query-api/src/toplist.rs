//! The all-time podcast ranking of the public statistics, as a function: the read API's trending
//! list (`period=all`) and the gpodder toplist answer from the same query, so they never disagree.

use sqlx::PgPool;

/// One podcast of the all-time ranking, from `site.podcast_popularity` (what the owners' privacy
/// lets out).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RankedPodcast {
    pub feed_id: String,
    pub feed_url: String,
    pub score: i64,
    pub plays: i64,
    pub likes: i64,
    /// Public subscribe events counted for the podcast.
    pub subscribes: i64,
}

/// The `limit` podcasts with the best all-time score (those with a score only), best first.
pub async fn all_time_podcasts(
    pool: &PgPool,
    limit: i64,
) -> Result<Vec<RankedPodcast>, sqlx::Error> {
    sqlx::query_as::<_, RankedPodcast>(
        "SELECT feed_id, feed_url, score, plays, likes, subscribes
         FROM site.podcast_popularity WHERE score > 0
         ORDER BY score DESC, feed_id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await
}
