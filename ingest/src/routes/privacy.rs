//! `PUT /privacy` (global, per feed or per episode) and `DELETE /events` (withdraw public
//! activity).

use super::ids::{parse_feed, parse_item};
use super::{Submission, submit};
use crate::IngestState;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use balados_platform::http::{ApiError, Authenticated, Json};
use balados_schemas::{CommandPayload, Privacy, Scope};
use serde::Deserialize;

/// A scope: an episode (`item`), else a feed (`feed`), else everything.
#[derive(Debug, Deserialize)]
pub struct ScopeFields {
    #[serde(default)]
    feed: Option<String>,
    #[serde(default)]
    item: Option<String>,
}

impl ScopeFields {
    fn scope(&self) -> Result<Scope, ApiError> {
        match (&self.feed, &self.item) {
            (_, Some(item)) => parse_item(item).map(Scope::Item),
            (Some(feed), None) => parse_feed(feed).map(Scope::Feed),
            (None, None) => Ok(Scope::Global),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct PrivacyBody {
    /// Exactly public, anonymous or private: anything else is refused, never read as public.
    privacy: String,
    #[serde(flatten)]
    scope: ScopeFields,
}

pub async fn change(
    State(state): State<IngestState>,
    auth: Authenticated,
    headers: HeaderMap,
    body: Result<Json<PrivacyBody>, ApiError>,
) -> Result<Response, ApiError> {
    let Json(body) = body?;
    let privacy = Privacy::parse(&body.privacy).ok_or_else(|| {
        ApiError::validation(
            "invalid_privacy",
            "privacy must be public, anonymous or private",
        )
    })?;
    let payload = CommandPayload::ChangePrivacy {
        scope: body.scope.scope()?,
        privacy,
    };
    submit(&state, &headers, auth, Submission::new(payload)).await
}

pub async fn remove_events(
    State(state): State<IngestState>,
    auth: Authenticated,
    headers: HeaderMap,
    query: Result<Query<ScopeFields>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(fields) = query.map_err(|e| {
        ApiError::validation(
            "invalid_query",
            balados_platform::http::bounded(&e.body_text()),
        )
    })?;
    let payload = CommandPayload::RemoveEvents {
        scope: fields.scope()?,
    };
    submit(&state, &headers, auth, Submission::new(payload)).await
}
