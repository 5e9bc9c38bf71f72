//! The write routes, one module per resource, and what they share: authentication and submitting
//! a command (202, or the outcome when the client prefers to wait).

mod batch;
mod collections;
mod devices;
mod episodes;
pub(crate) mod ids;
mod opml;
mod playlists;
mod privacy;
mod subscriptions;
pub(crate) mod sync;

use crate::IngestState;
use crate::producer::ProduceError;
use axum::Router;
use axum::http::header::LOCATION;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, patch, post, put};
use balados_platform::http::{ApiError, Authenticated, Verifies, needs};
use balados_platform::outcome;
use balados_schemas::{CommandEnvelope, CommandPayload, LocalId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Every write route, with the permission it needs (the caller's app must hold the scope).
pub fn router(state: IngestState) -> Router {
    use balados_auth::{Access::Write, Area, Permission::Data};
    let s = &state;
    let subscriptions = Data(Area::Subscriptions, Write);
    let plays = Data(Area::Plays, Write);
    let playlists = Data(Area::Playlists, Write);
    let collections = Data(Area::Collections, Write);
    let privacy_scope = Data(Area::Privacy, Write);
    Router::new()
        .route(
            "/api/v1/subscriptions",
            needs(post(subscriptions::subscribe), s, subscriptions),
        )
        .route(
            "/api/v1/subscriptions/opml",
            needs(post(opml::import_opml), s, subscriptions),
        )
        .route(
            "/api/v1/subscriptions/{feed}",
            needs(delete(subscriptions::unsubscribe), s, subscriptions),
        )
        .route("/api/v1/play", needs(post(episodes::record_play), s, plays))
        .route(
            "/api/v1/play/batch",
            needs(post(batch::record_plays), s, plays),
        )
        .route(
            "/api/v1/play/{item}/position",
            needs(put(episodes::update_position), s, plays),
        )
        .route(
            "/api/v1/episodes/{item}/save",
            needs(post(episodes::save).delete(episodes::unsave), s, plays),
        )
        .route(
            "/api/v1/episodes/{item}/share",
            needs(post(episodes::share), s, plays),
        )
        .route(
            "/api/v1/privacy",
            needs(put(privacy::change), s, privacy_scope),
        )
        .route(
            "/api/v1/events",
            needs(delete(privacy::remove_events), s, privacy_scope),
        )
        .route(
            "/api/v1/devices/{id}",
            needs(put(devices::upsert), s, Data(Area::Devices, Write)),
        )
        .route(
            "/api/v1/playlists",
            needs(post(playlists::create), s, playlists),
        )
        .route(
            "/api/v1/playlists/{id}",
            needs(
                patch(playlists::update).delete(playlists::delete),
                s,
                playlists,
            ),
        )
        .route(
            "/api/v1/playlists/{id}/items",
            needs(post(playlists::add_item), s, playlists),
        )
        .route(
            "/api/v1/playlists/{id}/items/{item}",
            needs(delete(playlists::remove_item), s, playlists),
        )
        .route(
            "/api/v1/playlists/{id}/order",
            needs(put(playlists::reorder), s, playlists),
        )
        .route(
            "/api/v1/collections",
            needs(post(collections::create), s, collections),
        )
        .route(
            "/api/v1/collections/{id}",
            needs(
                patch(collections::update).delete(collections::delete),
                s,
                collections,
            ),
        )
        .route(
            "/api/v1/collections/{id}/feeds",
            needs(post(collections::add_feed), s, collections),
        )
        .route(
            "/api/v1/collections/{id}/feeds/{feed}",
            needs(delete(collections::remove_feed), s, collections),
        )
        .route(
            "/api/v1/collections/{id}/feeds/{feed}/position",
            needs(put(collections::move_feed), s, collections),
        )
        .with_state(state)
}

#[derive(Debug, Serialize)]
struct Accepted {
    command_id: Uuid,
    status: &'static str,
}

impl Verifies for IngestState {
    fn verifier(&self) -> &dyn balados_auth::TokenVerifier {
        self.verifier.as_ref()
    }
}

/// A playlist or collection id in a path, parsed by the route after authentication.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub(crate) struct IdPath(String);

impl IdPath {
    pub fn parse(&self) -> Result<LocalId, ApiError> {
        ids::field("invalid_id", "id", LocalId::parse(&self.0))
    }
}

/// What a route asks to submit.
#[derive(Debug)]
pub(crate) struct Submission {
    pub payload: CommandPayload,
    /// Success creates a resource: 201 rather than 200 when waiting.
    pub creates: bool,
    /// The client's time of the action, when it said (offline plays); else now.
    pub occurred_at: Option<DateTime<Utc>>,
    /// The created resource, sent as `Location`.
    pub location: Option<String>,
}

impl Submission {
    pub fn new(payload: CommandPayload) -> Self {
        Self {
            payload,
            creates: false,
            occurred_at: None,
            location: None,
        }
    }

    pub fn creating(payload: CommandPayload, location: Option<String>) -> Self {
        Self {
            creates: true,
            location,
            ..Self::new(payload)
        }
    }
}

/// The envelope of one command of the caller.
pub(crate) fn envelope(
    state: &IngestState,
    auth: &Authenticated,
    command_id: Uuid,
    payload: CommandPayload,
    occurred_at: Option<DateTime<Utc>>,
) -> CommandEnvelope {
    let now = Utc::now();
    CommandEnvelope {
        command_id,
        user_id: auth.user.clone(),
        occurred_at: occurred_at.unwrap_or(now),
        received_at: now,
        app_id: Some(auth.caller.app_id.clone()),
        device_id: auth.device_id.clone(),
        device_name: auth.device_name.clone(),
        reply_to: Some(state.replies.address().to_owned()),
        payload,
    }
}

/// Produces one command: `Ok(waiter)` once the broker has it (a waiter when the client prefers to
/// wait), or the 503 to answer.
/// When a client refused during a partition growth should try again: the growth's pause.
const RETRY_AFTER_RETIRED_SECS: u64 = 10;

pub(crate) async fn produce(
    state: &IngestState,
    command: &CommandEnvelope,
    wait: bool,
) -> Result<Option<crate::replies::Waiter>, ApiError> {
    let kind = command.payload.kind();
    // Registered before producing, so that no outcome can arrive before its waiter.
    let waiter = wait.then(|| state.replies.register(command.command_id));
    match state.producer.send(command).await {
        Ok(()) => {}
        Err(ProduceError::Retired { .. }) => {
            let mut refused = ApiError::unavailable(
                "the service is moving to more partitions: nothing was stored; retry shortly",
            );
            refused.retry_after = Some(RETRY_AFTER_RETIRED_SECS);
            return Err(refused);
        }
        Err(e @ ProduceError::RetirementUnknown) => {
            tracing::warn!(error = %e, "command refused");
            return Err(ApiError::unavailable(
                "the command could not be stored; retry later",
            ));
        }
        Err(e) => {
            tracing::error!(error = %e, command.kind = kind, "command not accepted by the broker");
            return Err(ApiError::unavailable(
                "the command could not be stored; retry later",
            ));
        }
    }
    state.metrics.add(
        "balados_ingest_commands_total",
        "Commands accepted.",
        &[("kind", kind)],
        1.0,
    );
    Ok(waiter)
}

pub(crate) fn count_wait_timeout(state: &IngestState) {
    state.metrics.add(
        "balados_ingest_wait_timeouts_total",
        "Waits that ended before the outcome.",
        &[],
        1.0,
    );
}

/// Wraps the submission's payload in an envelope and produces it: 202 once the broker has it, or
/// — with `Prefer: wait=N` — the outcome if it comes within N seconds.
pub(crate) async fn submit(
    state: &IngestState,
    headers: &HeaderMap,
    auth: Authenticated,
    submission: Submission,
) -> Result<Response, ApiError> {
    let command_id =
        crate::idempotency::command_id(headers, auth.user.as_str(), &auth.caller.app_id)?;
    submit_as(state, headers, &auth, command_id, submission).await
}

/// Submits a command that creates the resource `id` under `path` (e.g. `/api/v1/playlists`),
/// answering with its `Location`. Without an id from the client, the id is derived from the
/// command id, so that a retry with the same Idempotency-Key names the same resource.
pub(crate) async fn submit_creation(
    state: &IngestState,
    headers: &HeaderMap,
    auth: Authenticated,
    (path, id): (&str, Option<LocalId>),
    payload: impl FnOnce(LocalId) -> CommandPayload,
) -> Result<Response, ApiError> {
    let command_id =
        crate::idempotency::command_id(headers, auth.user.as_str(), &auth.caller.app_id)?;
    let id = id.unwrap_or_else(|| LocalId::from_uuid(command_id));
    let location = format!("{path}/{id}");
    let submission = Submission::creating(payload(id), Some(location));
    submit_as(state, headers, &auth, command_id, submission).await
}

/// As [`submit`], with a command id chosen by the route (one that names the resource it creates).
pub(crate) async fn submit_as(
    state: &IngestState,
    headers: &HeaderMap,
    auth: &Authenticated,
    command_id: Uuid,
    submission: Submission,
) -> Result<Response, ApiError> {
    let command = envelope(
        state,
        auth,
        command_id,
        submission.payload,
        submission.occurred_at,
    );
    let wait = crate::prefer::requested_wait(headers);
    let waiter = produce(state, &command, wait.is_some()).await?;
    let mut response = match (wait, waiter) {
        (Some(wait), Some(waiter)) => match waiter.outcome(wait).await {
            Some(result) => Some(outcome::response(&result, submission.creates, wait)),
            None => {
                count_wait_timeout(state);
                None
            }
        },
        _ => None,
    }
    .unwrap_or_else(|| {
        let body = Accepted {
            command_id: command.command_id,
            status: "accepted",
        };
        (StatusCode::ACCEPTED, axum::Json(body)).into_response()
    });
    if let Some(value) = submission
        .location
        .and_then(|l| HeaderValue::from_str(&l).ok())
    {
        response.headers_mut().insert(LOCATION, value);
    }
    Ok(response)
}

/// Where a command sent on a user's behalf comes from: the app, the device, and when the action
/// happened (`None`: now) — a gpodder episode action carries its own time.
#[derive(Debug, Clone)]
pub struct Origin<'a> {
    pub app_id: &'a str,
    pub device: Option<(balados_schemas::DeviceId, Option<balados_schemas::Name>)>,
    pub occurred_at: Option<DateTime<Utc>>,
}

impl<'a> Origin<'a> {
    pub fn app(app_id: &'a str) -> Self {
        Self {
            app_id,
            device: None,
            occurred_at: None,
        }
    }
}

/// [`submit_for_user`] under `command_id`, once the broker holds it, without awaiting its
/// outcome: the same id again is the same command, decided once (the play gateway names a
/// listen by its user, episode and hour, so that a player's many requests count once).
pub async fn submit_once(
    state: &IngestState,
    command_id: Uuid,
    user: balados_schemas::UserId,
    origin: Origin<'_>,
    payload: CommandPayload,
) -> Result<(), ApiError> {
    let command = own_command(state, command_id, user, origin, payload);
    produce(state, &command, false).await.map(|_| ())
}

/// The envelope of a command one of the service's own front ends sends.
fn own_command(
    state: &IngestState,
    command_id: Uuid,
    user: balados_schemas::UserId,
    origin: Origin<'_>,
    payload: CommandPayload,
) -> CommandEnvelope {
    let now = Utc::now();
    let (device_id, device_name) = origin
        .device
        .map_or((None, None), |(id, name)| (Some(id), name));
    CommandEnvelope {
        command_id,
        user_id: user,
        occurred_at: origin.occurred_at.unwrap_or(now),
        received_at: now,
        app_id: Some(origin.app_id.to_owned()),
        device_id,
        device_name,
        reply_to: Some(state.replies.address().to_owned()),
        payload,
    }
}

/// A command one of the service's own front ends sends for a user it authenticated itself (the
/// account's pages as app `web`, the gpodder API as app `gpodder` for one of the user's devices):
/// produced like an app's, then its outcome awaited up to `wait` (`None` when it did not come in
/// time; the command still stands).
pub async fn submit_for_user(
    state: &IngestState,
    user: balados_schemas::UserId,
    origin: Origin<'_>,
    payload: CommandPayload,
    wait: std::time::Duration,
) -> Result<Option<balados_schemas::CommandResult>, ApiError> {
    let command = own_command(state, Uuid::new_v4(), user, origin, payload);
    let Some(waiter) = produce(state, &command, true).await? else {
        return Ok(None);
    };
    let outcome = waiter.outcome(wait).await;
    if outcome.is_none() {
        count_wait_timeout(state);
    }
    Ok(outcome)
}
