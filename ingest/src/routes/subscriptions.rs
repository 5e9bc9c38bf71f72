//! `POST /api/v1/subscriptions` and `DELETE /api/v1/subscriptions/{feed}`.

use super::ids::{opt_field, parse_feed};
use super::{Submission, submit};
use crate::IngestState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use balados_platform::http::{ApiError, Authenticated, Json, PathParams};
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
    auth: Authenticated,
    headers: HeaderMap,
    body: Result<Json<SubscribeBody>, ApiError>,
) -> Result<impl IntoResponse, ApiError> {
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
    submit(&state, &headers, auth, Submission::creating(payload, None)).await
}

pub async fn unsubscribe(
    State(state): State<IngestState>,
    auth: Authenticated,
    headers: HeaderMap,
    PathParams(feed): PathParams<String>,
) -> Result<impl IntoResponse, ApiError> {
    let feed = parse_feed(&feed)?;
    let payload = CommandPayload::Unsubscribe { feed };
    submit(&state, &headers, auth, Submission::new(payload)).await
}
