//! What a private feed lists, from the read models: the user's subscriptions, a collection's
//! podcasts, a playlist's episodes — each bounded (`feeds.max_feeds` podcasts, [`super::EPISODES`]
//! episodes).

use super::Request;

/// A playlist's episode as the read model holds it.
#[derive(Debug, sqlx::FromRow)]
pub struct PlaylistItem {
    pub feed_url: String,
    pub guid: String,
    pub enclosure_url: String,
}

fn max_feeds(request: &Request) -> i64 {
    i64::try_from(request.fetcher.max_feeds()).unwrap_or(i64::MAX)
}

/// The feeds the user follows, the first subscribed first.
pub async fn subscriptions(request: &Request) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT feed_url FROM users.subscriptions
         WHERE user_id = $1 AND subscribed_at IS NOT NULL
           AND (unsubscribed_at IS NULL OR unsubscribed_at <= subscribed_at)
         ORDER BY subscribed_at, feed_id LIMIT $2",
    )
    .bind(request.user.as_str())
    .bind(max_feeds(request))
    .fetch_all(&request.state.readers)
    .await
}

/// The collection's title and feeds, in its order; `None` when the user has no such collection.
pub async fn collection(
    request: &Request,
    id: &str,
) -> Result<Option<(String, Vec<String>)>, sqlx::Error> {
    let readers = &request.state.readers;
    let title: Option<String> = sqlx::query_scalar(
        "SELECT title FROM users.collections WHERE user_id = $1 AND collection_id = $2",
    )
    .bind(request.user.as_str())
    .bind(id)
    .fetch_optional(readers)
    .await?;
    let Some(title) = title else { return Ok(None) };
    let feeds = sqlx::query_scalar(
        "SELECT feed_url FROM users.collection_feeds
         WHERE user_id = $1 AND collection_id = $2 ORDER BY position LIMIT $3",
    )
    .bind(request.user.as_str())
    .bind(id)
    .bind(max_feeds(request))
    .fetch_all(readers)
    .await?;
    Ok(Some((title, feeds)))
}

/// The playlist's name and first episodes, in its order; `None` when the user has no such
/// playlist.
pub async fn playlist(
    request: &Request,
    id: &str,
) -> Result<Option<(String, Vec<PlaylistItem>)>, sqlx::Error> {
    let readers = &request.state.readers;
    let name: Option<String> = sqlx::query_scalar(
        "SELECT name FROM users.playlists WHERE user_id = $1 AND playlist_id = $2",
    )
    .bind(request.user.as_str())
    .bind(id)
    .fetch_optional(readers)
    .await?;
    let Some(name) = name else { return Ok(None) };
    let items = sqlx::query_as(
        "SELECT feed_url, guid, enclosure_url FROM users.playlist_items
         WHERE user_id = $1 AND playlist_id = $2 ORDER BY position LIMIT $3",
    )
    .bind(request.user.as_str())
    .bind(id)
    .bind(i64::try_from(super::EPISODES).unwrap_or(i64::MAX))
    .fetch_all(readers)
    .await?;
    Ok(Some((name, items)))
}
