//! The simple API: `GET /subscriptions/{username}.{fmt}`, and `GET|PUT
//! /subscriptions/{username}/{deviceid}.{fmt}` in OPML, JSON or plain text. Every device shows
//! the user's one list (one sync group); a PUT replaces that list: what it lacks is unsubscribed,
//! what is new subscribed, each as a command through the pipeline.

use crate::GpodderState;
use crate::auth::Caller;
use crate::body::RawBody;
use crate::devices::device_id;
use crate::error::GpodderError;
use crate::formats::Format;
use crate::subscriptions::{active_urls, apply, dedup, normalise_all};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use balados_platform::http::PathParams;
use std::collections::BTreeSet;

/// `name.fmt` split at its last dot (device ids may hold dots), the format known.
fn split(file: &str) -> Result<(&str, Format), GpodderError> {
    file.rsplit_once('.')
        .filter(|(name, _)| !name.is_empty())
        .and_then(|(name, extension)| Format::parse(extension).map(|f| (name, f)))
        .ok_or_else(|| GpodderError::not_found("no such route (expected .opml, .json or .txt)"))
}

/// `GET /subscriptions/{username}.{fmt}`.
pub async fn all(
    State(state): State<GpodderState>,
    caller: Caller,
    PathParams(file): PathParams<String>,
) -> Result<Response, GpodderError> {
    let (username, format) = split(&file)?;
    caller.owns(username)?;
    Ok(format.respond(&active_urls(&state, &caller.user_id).await?))
}

/// `GET /subscriptions/{username}/{deviceid}.{fmt}`: the same list on every device.
pub async fn of_device(
    State(state): State<GpodderState>,
    caller: Caller,
    PathParams((username, file)): PathParams<(String, String)>,
) -> Result<Response, GpodderError> {
    caller.owns(&username)?;
    let (device, format) = split(&file)?;
    device_id(device)?;
    Ok(format.respond(&active_urls(&state, &caller.user_id).await?))
}

/// `PUT /subscriptions/{username}/{deviceid}.{fmt}`: 200 with an empty body once the list is the
/// one sent. URLs that cannot be feeds are skipped (the simple API has no way to say so).
pub async fn replace(
    State(state): State<GpodderState>,
    caller: Caller,
    PathParams((username, file)): PathParams<(String, String)>,
    RawBody(body): RawBody,
) -> Result<Response, GpodderError> {
    caller.owns(&username)?;
    let (device, format) = split(&file)?;
    let device = device_id(device)?;
    let text = String::from_utf8(body)
        .map_err(|_| GpodderError::bad_request("invalid_body", "the list is not UTF-8 text"))?;
    let sent = format.read(&text).ok_or_else(|| {
        GpodderError::bad_request(
            "invalid_body",
            "the list is not in the format of its extension",
        )
    })?;
    if sent.len() > crate::body::MAX_ITEMS {
        return Err(GpodderError::bad_request(
            "too_many_feeds",
            format!("a list holds at most {} feeds", crate::body::MAX_ITEMS),
        ));
    }
    let mut skipped = Vec::new();
    let wanted = dedup(normalise_all(&sent, &mut skipped));
    let current = active_urls(&state, &caller.user_id).await?;
    let current_set: BTreeSet<&str> = current.iter().map(String::as_str).collect();
    let wanted_set: BTreeSet<&str> = wanted.iter().map(|f| f.as_str()).collect();
    let remove = current
        .iter()
        .filter(|url| !wanted_set.contains(url.as_str()))
        .filter_map(|url| balados_schemas::FeedUrl::parse(url).ok())
        .collect();
    let add = wanted
        .iter()
        .filter(|f| !current_set.contains(f.as_str()))
        .cloned()
        .collect();
    apply(&state, &caller.user_id, &device, add, remove, &mut skipped).await?;
    Ok(StatusCode::OK.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_split_at_their_last_dot() {
        assert!(matches!(split("alice.opml"), Ok(("alice", Format::Opml))));
        assert!(matches!(
            split("my.phone.txt"),
            Ok(("my.phone", Format::Txt))
        ));
        assert!(split("alice.xml").is_err());
        assert!(split(".json").is_err());
        assert!(split("alice").is_err());
    }
}
