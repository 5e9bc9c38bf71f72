//! `POST /api/v1/subscriptions` and `DELETE /api/v1/subscriptions/{feed}`.

use super::ids::{opt_field, parse_feed};
use super::{Submission, caller, submit};
use crate::IngestState;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use balados_platform::http::{ApiError, Json};
use balados_schemas::{CommandPayload, SourceId};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct SubscribeBody {
    /// base64url (or base64) of the feed URL.
    rss_source_feed: String,
    #[serde(default)]
    rss_source_id: Option<String>,
}

pub async fn subscribe(
    State(state): State<IngestState>,
    headers: HeaderMap,
    body: Result<Json<SubscribeBody>, ApiError>,
) -> Result<impl IntoResponse, ApiError> {
    // The token is checked before the body, so an anonymous caller learns nothing about it.
    let (caller, user) = caller(&state, &headers)?;
    let Json(body) = body?;
    let feed = parse_feed(&body.rss_source_feed)?;
    let source_id = opt_field(
        "invalid_source_id",
        "rss_source_id",
        body.rss_source_id
            .as_deref()
            .filter(|s| !s.trim().is_empty()),
        SourceId::parse,
    )?;
    let payload = CommandPayload::Subscribe { feed, source_id };
    submit(
        &state,
        &headers,
        caller,
        user,
        Submission::creating(payload, None),
    )
    .await
}

pub async fn unsubscribe(
    State(state): State<IngestState>,
    headers: HeaderMap,
    Path(feed): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let (caller, user) = caller(&state, &headers)?;
    let feed = parse_feed(&feed)?;
    let payload = CommandPayload::Unsubscribe { feed };
    submit(&state, &headers, caller, user, Submission::new(payload)).await
}
