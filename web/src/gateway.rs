//! The play gateway: `GET /play/{token}/{feed}/{item}`, a media link for the players that cannot
//! sign a request (a feed reader, a podcast app given the link). It records the listen as the
//! token's user's — a `StartPlay` through the pipeline, like an app's play, which keeps any
//! position an app recorded — and answers 302 to the episode's media URL, taken from the item id
//! (`guid,enclosure_url`: no feed is fetched).
//!
//! What a player does with a media URL shapes it:
//! - it asks again and again for parts of the file (`Range`) while it plays and seeks: a listen
//!   is recorded for a request from the start of the file only, under a command id made of the
//!   user, the episode and the hour, so that repeats within the hour are one listen;
//! - the answer never depends on the recording: a listen that cannot be recorded (the user's
//!   writes budget spent, the broker away) still plays, and is counted in
//!   `balados_play_gateway_total`;
//! - the link carries a secret: the redirect is never cached and sends no `Referer` to the media
//!   host, and a token that is not live is refused (401) rather than redirected, so the gateway
//!   is no open redirector.

use crate::WebState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use balados_ingest::{Origin, parse_feed, parse_item};
use balados_platform::http::ApiError;
use balados_platform::metrics::Counter;
use balados_schemas::{CommandPayload, ItemId, UserId};
use chrono::{DateTime, Utc};
use std::time::Duration;
use uuid::Uuid;

const GATEWAY: Counter = Counter {
    name: "balados_play_gateway_total",
    help: "GET requests through the play gateway, by what became of the listen: recorded, \
           part_of_file (not from the start: not a listen), over_budget, unavailable.",
};

/// The app the gateway's commands come from.
const APP: &str = "play-gateway";

pub async fn play(
    State(state): State<WebState>,
    Path((token, feed, item)): Path<(String, String, String)>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let feed = parse_feed(&feed)?;
    let item = parse_item(&item)?;
    let user = user_of(&state, &token).await?;
    let location = media_location(&item)?;
    // A HEAD is a player looking before it plays: nothing to record.
    if method == Method::GET {
        let outcome = record(&state, user, feed, item, &headers).await;
        state
            .ingest
            .metrics
            .count(GATEWAY, &[("outcome", outcome)], 1.0);
    }
    Ok((
        StatusCode::FOUND,
        [
            (header::LOCATION, location),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
        ],
    )
        .into_response())
}

/// The user of a live play `token` (401 `invalid_play_token` otherwise), admitted in their reads
/// budget.
pub async fn user_of(state: &WebState, token: &str) -> Result<UserId, ApiError> {
    let invalid = || {
        ApiError::unauthorized(
            "invalid_play_token",
            "this link's play token is unknown, expired or revoked",
        )
    };
    let user = state
        .play_tokens
        .verify(token)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "a play token could not be checked");
            ApiError::unavailable("the link cannot be checked now; retry shortly")
        })?
        .ok_or_else(invalid)?;
    if let Some(reads) = &state.reads {
        reads.admit_user(&user, &state.ingest.metrics)?;
    }
    UserId::parse(&user).map_err(|_| invalid())
}

/// Records the listen (see the module's comment); what became of it (an `outcome` of [`GATEWAY`]).
async fn record(
    state: &WebState,
    user: UserId,
    feed: balados_schemas::FeedUrl,
    item: ItemId,
    headers: &HeaderMap,
) -> &'static str {
    if !from_the_start(headers.get(header::RANGE)) {
        return "part_of_file";
    }
    if let Some(writes) = &state.ingest.writes
        && writes
            .pace_user(user.as_str(), 1, Duration::ZERO, &state.ingest.metrics)
            .await
            .is_err()
    {
        return "over_budget";
    }
    let id = listen_id(&user, &item, Utc::now());
    let payload = CommandPayload::StartPlay { feed, item };
    match balados_ingest::submit_once(&state.ingest, id, user, Origin::app(APP), payload).await {
        Ok(()) => "recorded",
        Err(_) => "unavailable",
    }
}

/// Whether a request asks for the file from its start: no `Range`, or one from byte 0.
fn from_the_start(range: Option<&HeaderValue>) -> bool {
    let Some(range) = range else { return true };
    let Some(spec) = range
        .to_str()
        .ok()
        .and_then(|r| r.trim().strip_prefix("bytes="))
    else {
        // A unit other than bytes: not a part of the file as a player asks for one.
        return true;
    };
    spec.split(',')
        .next()
        .and_then(|first| first.trim().split_once('-'))
        .is_some_and(|(start, _)| start.trim() == "0")
}

/// The command id of a listen: one per user, episode and hour (UTC).
fn listen_id(user: &UserId, item: &ItemId, now: DateTime<Utc>) -> Uuid {
    let hour = now.timestamp().div_euclid(3600);
    let key = format!("listen {} {hour}", item.id());
    balados_ingest::keyed_command_id(user.as_str(), APP, &key)
}

/// The media URL as a `Location`: percent-encoded, so that any URL a feed gives is a valid header.
fn media_location(item: &ItemId) -> Result<HeaderValue, ApiError> {
    let url = url::Url::parse(item.enclosure_url()).map_err(|_| invalid_media())?;
    HeaderValue::from_str(url.as_str()).map_err(|_| invalid_media())
}

fn invalid_media() -> ApiError {
    ApiError::validation(
        "invalid_item_id",
        "the episode's media URL cannot be redirected to",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    fn range(value: &str) -> HeaderValue {
        HeaderValue::from_str(value).expect("header")
    }

    #[test]
    fn a_listen_is_a_request_from_the_start_of_the_file() {
        assert!(from_the_start(None));
        assert!(from_the_start(Some(&range("bytes=0-"))));
        assert!(from_the_start(Some(&range("bytes=0-1"))));
        assert!(from_the_start(Some(&range(" bytes= 0-1023, 5000-"))));
        assert!(!from_the_start(Some(&range("bytes=1048576-"))));
        assert!(!from_the_start(Some(&range("bytes=-500"))));
        assert!(!from_the_start(Some(&range("bytes=00x-"))));
    }

    #[test]
    fn one_listen_per_user_episode_and_hour() {
        let ann = UserId::parse("ann").expect("valid");
        let bob = UserId::parse("bob").expect("valid");
        let one = ItemId::new("g1", "https://cdn.example/1.mp3").expect("valid");
        let two = ItemId::new("g2", "https://cdn.example/2.mp3").expect("valid");
        let at = |h, m| {
            Utc.with_ymd_and_hms(2026, 12, 1, h, m, 0)
                .single()
                .expect("valid")
        };
        let id = listen_id(&ann, &one, at(10, 5));
        assert_eq!(id, listen_id(&ann, &one, at(10, 59)));
        assert_ne!(id, listen_id(&ann, &one, at(11, 0)));
        assert_ne!(id, listen_id(&bob, &one, at(10, 5)));
        assert_ne!(id, listen_id(&ann, &two, at(10, 5)));
    }

    #[test]
    fn the_media_url_is_a_valid_location_even_with_characters_a_header_refuses() {
        let item = ItemId::new("g", "https://cdn.example/épisode 1.mp3?a=b").expect("valid");
        assert_eq!(
            media_location(&item).expect("location"),
            "https://cdn.example/%C3%A9pisode%201.mp3?a=b"
        );
    }
}
