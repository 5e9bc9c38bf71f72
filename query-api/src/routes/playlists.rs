//! `GET /api/v1/playlists` (the caller's playlists with their sizes, paged) and
//! `GET /api/v1/playlists/{id}` (one playlist with its episodes, in order).

use super::params::{self, Paged};
use super::query::{Page, TypedQuery};
use super::unavailable;
use crate::QueryState;
use axum::extract::State;
use balados_platform::http::{ApiError, Authenticated, Json, PathParams};
use serde::Serialize;

#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct Playlist {
    id: String,
    name: String,
    description: Option<String>,
    public: bool,
    items_count: i64,
}

#[derive(Debug, Serialize)]
pub struct Playlists {
    playlists: Vec<Playlist>,
    pagination: Paged,
}

pub async fn list(
    State(state): State<QueryState>,
    auth: Authenticated,
    TypedQuery(Page { limit, offset }): TypedQuery<Page>,
) -> Result<Json<Playlists>, ApiError> {
    let playlists = sqlx::query_as::<_, Playlist>(
        "SELECT p.playlist_id AS id, p.name, p.description, p.public,
                (SELECT count(*) FROM users.playlist_items i
                 WHERE i.user_id = p.user_id AND i.playlist_id = p.playlist_id) AS items_count
         FROM users.playlists p WHERE p.user_id = $1
         ORDER BY p.name, p.playlist_id LIMIT $2 OFFSET $3",
    )
    .bind(auth.user.as_str())
    .bind(limit)
    .bind(offset)
    .fetch_all(&state.pool)
    .await
    .map_err(unavailable)?;
    let (total,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM users.playlists WHERE user_id = $1")
            .bind(auth.user.as_str())
            .fetch_one(&state.pool)
            .await
            .map_err(unavailable)?;
    Ok(Json(Playlists {
        playlists,
        pagination: Paged {
            limit,
            offset,
            total,
        },
    }))
}

#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct Item {
    position: i32,
    rss_source_item: String,
    rss_source_feed: String,
    feed_url: String,
    guid: String,
    enclosure_url: String,
}

#[derive(Debug, Serialize)]
pub struct PlaylistDetail {
    #[serde(flatten)]
    playlist: Playlist,
    items: Vec<Item>,
}

#[derive(Debug, Serialize)]
pub struct One {
    playlist: PlaylistDetail,
}

pub async fn get(
    State(state): State<QueryState>,
    auth: Authenticated,
    PathParams(id): PathParams<String>,
) -> Result<Json<One>, ApiError> {
    let id = params::list_id(&id)?;
    let playlist = sqlx::query_as::<_, Playlist>(
        "SELECT playlist_id AS id, name, description, public, 0::bigint AS items_count
         FROM users.playlists WHERE user_id = $1 AND playlist_id = $2",
    )
    .bind(auth.user.as_str())
    .bind(id)
    .fetch_optional(&state.pool)
    .await
    .map_err(unavailable)?
    .ok_or_else(|| ApiError::not_found("no such playlist"))?;
    let items = sqlx::query_as::<_, Item>(
        "SELECT position, item_id AS rss_source_item, feed_id AS rss_source_feed, feed_url, guid,
                enclosure_url
         FROM users.playlist_items WHERE user_id = $1 AND playlist_id = $2 ORDER BY position",
    )
    .bind(auth.user.as_str())
    .bind(id)
    .fetch_all(&state.pool)
    .await
    .map_err(unavailable)?;
    let playlist = Playlist {
        items_count: i64::try_from(items.len()).unwrap_or(i64::MAX),
        ..playlist
    };
    Ok(Json(One {
        playlist: PlaylistDetail { playlist, items },
    }))
}
