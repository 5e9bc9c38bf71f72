//! `PUT /devices/{id}`: create or update one of the user's devices.

use super::{Submission, caller, submit};
use crate::IngestState;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use balados_platform::http::{ApiError, Json};
use balados_schemas::CommandPayload;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct DeviceBody {
    #[serde(default)]
    caption: Option<String>,
    /// gpodder's device type: desktop, laptop, mobile, server or other.
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

pub async fn upsert(
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
