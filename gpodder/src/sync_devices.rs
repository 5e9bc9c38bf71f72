//! `GET|POST /api/2/sync-devices/{username}.json`. All of a user's devices form one sync group,
//! always (what users of Nextcloud and oPodSync expect): every device sees every change. So the
//! answer is that one group of every device, and a request to synchronise devices changes
//! nothing (they already are); a request to stop synchronising a device is refused with 400
//! `unsupported`, rather than answered 200 as if it had been done.

use crate::GpodderState;
use crate::auth::Caller;
use crate::body::JsonBody;
use crate::devices::{device_id, json_file};
use crate::error::GpodderError;
use axum::Json;
use axum::extract::State;
use balados_platform::http::PathParams;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

#[derive(Debug, Serialize)]
pub struct Groups {
    synchronized: Vec<Vec<String>>,
    #[serde(rename = "not-synchronized")]
    not_synchronized: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct Change {
    #[serde(default)]
    synchronize: Vec<Vec<String>>,
    #[serde(default, rename = "stop-synchronize")]
    stop_synchronize: Vec<String>,
}

async fn groups(state: &GpodderState, caller: &Caller) -> Result<Groups, GpodderError> {
    let ids: Vec<(String,)> =
        sqlx::query_as("SELECT device_id FROM users.devices WHERE user_id = $1 ORDER BY device_id")
            .bind(caller.user_id.as_str())
            .fetch_all(&state.readers)
            .await?;
    let ids: Vec<String> = ids.into_iter().map(|(id,)| id).collect();
    Ok(Groups {
        synchronized: if ids.is_empty() { vec![] } else { vec![ids] },
        not_synchronized: Vec::new(),
    })
}

pub async fn get(
    State(state): State<GpodderState>,
    caller: Caller,
    PathParams(file): PathParams<String>,
) -> Result<Json<Groups>, GpodderError> {
    caller.owns(json_file(&file)?)?;
    Ok(Json(groups(&state, &caller).await?))
}

pub async fn post(
    State(state): State<GpodderState>,
    caller: Caller,
    PathParams(file): PathParams<String>,
    JsonBody(change): JsonBody<Change>,
) -> Result<Json<Groups>, GpodderError> {
    caller.owns(json_file(&file)?)?;
    if !change.stop_synchronize.is_empty() {
        return Err(GpodderError::bad_request(
            "unsupported",
            "every device of an account is synchronised with the others; this cannot be stopped",
        ));
    }
    let current = groups(&state, &caller).await?;
    let known: BTreeSet<&str> = current
        .synchronized
        .iter()
        .flatten()
        .map(String::as_str)
        .collect();
    // Already synchronised, but only devices the user has (as gpodder.net checks).
    for id in change.synchronize.iter().flatten() {
        device_id(id)?;
        if !known.contains(id.as_str()) {
            return Err(GpodderError::bad_request(
                "unknown_device",
                format!("no device {id:.64} on this account"),
            ));
        }
    }
    Ok(Json(current))
}
