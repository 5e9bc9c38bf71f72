//! `GET /api/2/devices/{username}.json` and `POST|PUT /api/2/devices/{username}/{deviceid}.json`.
//! Every device of a user is in one sync group: each shows the user's whole subscription count.

use crate::GpodderState;
use crate::auth::Caller;
use crate::body::JsonBody;
use crate::error::GpodderError;
use crate::pipeline::{decide_one, readable};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use balados_platform::http::PathParams;
use balados_schemas::{CommandPayload, DeviceId, DeviceKind, Name, UserId};
use serde::{Deserialize, Serialize};

/// `name` without its `.json`, or 404 (the API has no other format for these routes).
pub fn json_file(file: &str) -> Result<&str, GpodderError> {
    file.strip_suffix(".json")
        .filter(|name| !name.is_empty())
        .ok_or_else(|| GpodderError::not_found("no such route (expected a .json file)"))
}

/// A device id in a path: `[\w.-]+`, at most 64 bytes (docs/limits.md).
pub fn device_id(raw: &str) -> Result<DeviceId, GpodderError> {
    DeviceId::parse(raw)
        .map_err(|e| GpodderError::bad_request("invalid_device_id", format!("device id {e}")))
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Device {
    id: String,
    caption: String,
    #[serde(rename = "type")]
    kind: String,
    subscriptions: i64,
}

pub async fn list(
    State(state): State<GpodderState>,
    caller: Caller,
    PathParams(file): PathParams<String>,
) -> Result<Json<Vec<Device>>, GpodderError> {
    caller.owns(json_file(&file)?)?;
    let user = caller.user_id.as_str();
    let rows: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT device_id, caption, kind FROM users.devices WHERE user_id = $1 ORDER BY device_id",
    )
    .bind(user)
    .fetch_all(&state.readers)
    .await?;
    let (subscriptions,): (i64,) = sqlx::query_as(concat!(
        "SELECT count(*) FROM users.subscriptions WHERE user_id = $1 AND ",
        active!()
    ))
    .bind(user)
    .fetch_one(&state.readers)
    .await?;
    Ok(Json(
        rows.into_iter()
            .map(|(id, caption, kind)| Device {
                id,
                // gpodder.net's defaults for a device created without them.
                caption: caption.unwrap_or_default(),
                kind: kind.unwrap_or_else(|| "other".to_owned()),
                subscriptions,
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize)]
pub struct DeviceBody {
    #[serde(default)]
    caption: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

/// Only the keys present change; a blank caption is left out, as clients send it.
fn payload(device_id: DeviceId, body: &DeviceBody) -> Result<CommandPayload, GpodderError> {
    let caption = body
        .caption
        .as_deref()
        .map(Name::parse_optional)
        .transpose()
        .map_err(|e| GpodderError::bad_request("invalid_name", format!("caption {e}")))?
        .flatten();
    let kind = body
        .kind
        .as_deref()
        .map(DeviceKind::parse)
        .transpose()
        .map_err(|e| GpodderError::bad_request("invalid_device_kind", format!("type {e}")))?;
    Ok(CommandPayload::UpsertDevice {
        device_id,
        caption,
        kind,
    })
}

/// 200 with an empty body once decided and visible (a client lists its devices right after
/// describing one): mygpoclient checks that the body is empty.
pub async fn upsert(
    State(state): State<GpodderState>,
    caller: Caller,
    PathParams((username, file)): PathParams<(String, String)>,
    JsonBody(body): JsonBody<DeviceBody>,
) -> Result<Response, GpodderError> {
    caller.owns(&username)?;
    let device = device_id(json_file(&file)?)?;
    let payload = payload(device.clone(), &body)?;
    let decided = decide_one(&state, &caller.user_id, &device, payload).await?;
    readable(&state, &[decided]).await?;
    Ok(StatusCode::OK.into_response())
}

/// Creates `device` if the user has no such device yet (gpodder.net creates a device on its
/// first upload), so that it is listed.
pub async fn ensure(
    state: &GpodderState,
    user: &UserId,
    device: &DeviceId,
) -> Result<(), GpodderError> {
    let known: Option<(i32,)> =
        sqlx::query_as("SELECT 1 FROM users.devices WHERE user_id = $1 AND device_id = $2")
            .bind(user.as_str())
            .bind(device.as_str())
            .fetch_optional(&state.readers)
            .await?;
    if known.is_none() {
        let body = DeviceBody {
            caption: None,
            kind: None,
        };
        decide_one(state, user, device, payload(device.clone(), &body)?).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(caption: Option<&str>, kind: Option<&str>) -> DeviceBody {
        DeviceBody {
            caption: caption.map(str::to_owned),
            kind: kind.map(str::to_owned),
        }
    }

    #[test]
    fn only_the_keys_present_change() {
        let id = DeviceId::parse("phone").expect("valid");
        let Ok(CommandPayload::UpsertDevice { caption, kind, .. }) =
            payload(id.clone(), &body(None, Some("mobile")))
        else {
            panic!("an upsert");
        };
        assert_eq!(
            (caption, kind.map(|k| k.as_str().to_owned())),
            (None, Some("mobile".into()))
        );
        let Ok(CommandPayload::UpsertDevice { caption, kind, .. }) =
            payload(id.clone(), &body(Some("  "), None))
        else {
            panic!("an upsert");
        };
        assert_eq!((caption, kind), (None, None));
        let refused = payload(id, &body(None, Some("phone"))).expect_err("bad type");
        assert_eq!(refused.api.status, StatusCode::BAD_REQUEST);
    }

    #[test]
    fn paths_name_json_files_and_valid_device_ids() {
        assert_eq!(json_file("my.phone.json").ok(), Some("my.phone"));
        assert!(json_file("phone.opml").is_err());
        assert!(json_file(".json").is_err());
        assert!(device_id("my.phone-2_x").is_ok());
        assert_eq!(
            device_id("a/b").expect_err("refused").api.status,
            StatusCode::BAD_REQUEST
        );
    }
}
