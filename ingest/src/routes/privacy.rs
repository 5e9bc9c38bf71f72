//! `PUT /privacy` (global, per feed or per episode), `DELETE /events` (withdraw public activity)
//! and `PUT /devices/{id}`.

use super::ids::{parse_feed, parse_item};
use super::{Submission, caller, submit};
use crate::IngestState;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use balados_platform::http::{ApiError, Json};
use balados_schemas::{CommandPayload, Scope};
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
    /// Exactly public, anonymous or private: the aggregator rejects anything else.
    privacy: String,
    #[serde(flatten)]
    scope: ScopeFields,
}

pub async fn change(
    State(state): State<IngestState>,
    headers: HeaderMap,
    body: Result<Json<PrivacyBody>, ApiError>,
) -> Result<Response, ApiError> {
    let (caller, user) = caller(&state, &headers)?;
    let Json(body) = body?;
    let payload = CommandPayload::ChangePrivacy {
        scope: body.scope.scope()?,
        privacy: body.privacy,
    };
    submit(&state, &headers, caller, user, Submission::new(payload)).await
}

pub async fn remove_events(
    State(state): State<IngestState>,
    headers: HeaderMap,
    query: Result<Query<ScopeFields>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let (caller, user) = caller(&state, &headers)?;
    let Query(fields) = query.map_err(|e| ApiError::validation("invalid_query", e.body_text()))?;
    let payload = CommandPayload::RemoveEvents {
        scope: fields.scope()?,
    };
    submit(&state, &headers, caller, user, Submission::new(payload)).await
}

#[derive(Debug, Deserialize)]
pub struct DeviceBody {
    #[serde(default)]
    caption: Option<String>,
    /// gpodder's device type: desktop, laptop, mobile, server or other.
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

pub async fn upsert_device(
    State(state): State<IngestState>,
    headers: HeaderMap,
    Path(device_id): Path<String>,
    body: Result<Json<DeviceBody>, ApiError>,
) -> Result<Response, ApiError> {
    let (caller, user) = caller(&state, &headers)?;
    let Json(body) = body?;
    let payload = CommandPayload::UpsertDevice {
        device_id,
        caption: body.caption,
        kind: body.kind,
    };
    submit(&state, &headers, caller, user, Submission::new(payload)).await
}
