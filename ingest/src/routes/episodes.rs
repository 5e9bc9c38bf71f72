//! Plays, positions, saved and shared episodes: `POST /play`, `PUT /play/{item}/position`,
//! `POST/DELETE /episodes/{item}/save`, `POST /episodes/{item}/share`. Batches of plays are in
//! `batch`.

use super::ids::{parse_feed, parse_item, parse_time, seconds};
use super::{Submission, submit};
use crate::IngestState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use balados_platform::http::{ApiError, Authenticated, Json, PathParams};
use balados_schemas::{CommandPayload, FeedUrl, ItemId};
use serde::Deserialize;

/// One play, as `POST /play` and each item of `POST /play/batch` take it.
#[derive(Debug, Deserialize)]
pub struct PlayBody {
    rss_source_feed: String,
    rss_source_item: String,
    /// Seconds.
    position: i64,
    #[serde(default)]
    duration: Option<i64>,
    #[serde(default)]
    played: bool,
    /// When it happened on the client (RFC 3339); now when absent.
    #[serde(default)]
    timestamp: Option<String>,
}

impl PlayBody {
    pub(crate) fn into_submission(self) -> Result<Submission, ApiError> {
        let payload = CommandPayload::RecordPlay {
            feed: parse_feed(&self.rss_source_feed)?,
            item: parse_item(&self.rss_source_item)?,
            position: seconds("invalid_position", "position", self.position)?,
            duration: self
                .duration
                .map(|d| seconds("invalid_duration", "duration", d))
                .transpose()?,
            played: self.played,
        };
        let mut submission = Submission::new(payload);
        submission.occurred_at = self.timestamp.as_deref().map(parse_time).transpose()?;
        Ok(submission)
    }
}

pub async fn record_play(
    State(state): State<IngestState>,
    auth: Authenticated,
    headers: HeaderMap,
    body: Result<Json<PlayBody>, ApiError>,
) -> Result<Response, ApiError> {
    let Json(body) = body?;
    submit(&state, &headers, auth, body.into_submission()?).await
}

#[derive(Debug, Deserialize)]
pub struct PositionBody {
    position: i64,
    #[serde(default)]
    timestamp: Option<String>,
}

pub async fn update_position(
    State(state): State<IngestState>,
    auth: Authenticated,
    headers: HeaderMap,
    PathParams(item): PathParams<String>,
    body: Result<Json<PositionBody>, ApiError>,
) -> Result<Response, ApiError> {
    let item = parse_item(&item)?;
    let Json(body) = body?;
    let mut submission = Submission::new(CommandPayload::UpdatePosition {
        item,
        position: seconds("invalid_position", "position", body.position)?,
    });
    submission.occurred_at = body.timestamp.as_deref().map(parse_time).transpose()?;
    submit(&state, &headers, auth, submission).await
}

/// The feed an episode belongs to (`rss_source_feed`, or `feed` as the original API named it).
#[derive(Debug, Deserialize)]
pub struct EpisodeFeedBody {
    #[serde(alias = "feed")]
    rss_source_feed: String,
}

/// An action on an episode of a feed (save, share).
async fn episode_action(
    state: &IngestState,
    auth: Authenticated,
    headers: &HeaderMap,
    item: &str,
    body: Result<Json<EpisodeFeedBody>, ApiError>,
    payload: fn(FeedUrl, ItemId) -> CommandPayload,
) -> Result<Response, ApiError> {
    let item = parse_item(item)?;
    let Json(body) = body?;
    let feed = parse_feed(&body.rss_source_feed)?;
    submit(state, headers, auth, Submission::new(payload(feed, item))).await
}

pub async fn save(
    State(state): State<IngestState>,
    auth: Authenticated,
    headers: HeaderMap,
    PathParams(item): PathParams<String>,
    body: Result<Json<EpisodeFeedBody>, ApiError>,
) -> Result<Response, ApiError> {
    episode_action(&state, auth, &headers, &item, body, |feed, item| {
        CommandPayload::SaveEpisode { feed, item }
    })
    .await
}

pub async fn unsave(
    State(state): State<IngestState>,
    auth: Authenticated,
    headers: HeaderMap,
    PathParams(item): PathParams<String>,
) -> Result<Response, ApiError> {
    let item = parse_item(&item)?;
    let payload = CommandPayload::UnsaveEpisode { item };
    submit(&state, &headers, auth, Submission::new(payload)).await
}

pub async fn share(
    State(state): State<IngestState>,
    auth: Authenticated,
    headers: HeaderMap,
    PathParams(item): PathParams<String>,
    body: Result<Json<EpisodeFeedBody>, ApiError>,
) -> Result<Response, ApiError> {
    episode_action(&state, auth, &headers, &item, body, |feed, item| {
        CommandPayload::ShareEpisode { feed, item }
    })
    .await
}
