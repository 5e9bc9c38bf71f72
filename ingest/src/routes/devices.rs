//! `PUT /devices/{id}`: create or update one of the user's devices.

use super::ids::{field, opt_field};
use super::{Submission, submit};
use crate::IngestState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use balados_platform::http::{ApiError, Authenticated, Json, PathParams};
use balados_schemas::{CommandPayload, DeviceId, DeviceKind, Name};
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
    auth: Authenticated,
    headers: HeaderMap,
    PathParams(device_id): PathParams<String>,
    body: Result<Json<DeviceBody>, ApiError>,
) -> Result<Response, ApiError> {
    let Json(body) = body?;
    let payload = CommandPayload::UpsertDevice {
        device_id: field(
            "invalid_device_id",
            "device id",
            DeviceId::parse(&device_id),
        )?,
        // A blank caption is left out, as gpodder clients send it.
        caption: opt_field(
            "invalid_name",
            "caption",
            body.caption.as_deref(),
            Name::parse_optional,
        )?
        .flatten(),
        kind: opt_field(
            "invalid_device_kind",
            "type",
            body.kind.as_deref(),
            DeviceKind::parse,
        )?,
    };
    submit(&state, &headers, auth, Submission::new(payload)).await
}
