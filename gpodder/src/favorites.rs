//! `GET /api/2/favorites/{username}.json`: the user's saved episodes (saved in any app, or marked
//! `is_favorite` through the episode settings), newest first, as gpodder.net's episode objects
//! (mygpoclient's `public.Episode` needs every key). We know no titles or release dates: URLs
//! stand in for titles, `released` is null.

use crate::GpodderState;
use crate::auth::Caller;
use crate::devices::json_file;
use crate::error::GpodderError;
use axum::Json;
use axum::extract::State;
use balados_platform::http::PathParams;
use serde::Serialize;

/// An episode as gpodder.net describes one (mygpoclient's `public.Episode` keys), in favorites
/// and updates. We know no titles, descriptions or release dates: URLs stand in for titles and
/// `released` is null.
#[derive(Debug, Serialize)]
pub struct EpisodeInfo {
    title: String,
    url: String,
    podcast_title: String,
    podcast_url: String,
    description: String,
    website: String,
    released: Option<String>,
    mygpo_link: String,
}

impl EpisodeInfo {
    pub fn of(url: String, podcast_url: String) -> Self {
        Self {
            title: url.clone(),
            podcast_title: podcast_url.clone(),
            description: String::new(),
            website: String::new(),
            released: None,
            mygpo_link: String::new(),
            url,
            podcast_url,
        }
    }
}

pub async fn list(
    State(state): State<GpodderState>,
    caller: Caller,
    PathParams(file): PathParams<String>,
) -> Result<Json<Vec<EpisodeInfo>>, GpodderError> {
    caller.owns(json_file(&file)?)?;
    // Bounded by the episodes a user may track.
    let limit = crate::episodes::everything();
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT enclosure_url, feed_url FROM users.play_statuses
         WHERE user_id = $1 AND saved_at IS NOT NULL
         ORDER BY saved_at DESC, item_id LIMIT $2",
    )
    .bind(caller.user_id.as_str())
    .bind(limit)
    .fetch_all(&state.readers)
    .await?;
    Ok(Json(
        rows.into_iter()
            .map(|(url, podcast_url)| EpisodeInfo::of(url, podcast_url))
            .collect(),
    ))
}
