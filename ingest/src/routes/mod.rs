//! The write routes, one module per resource, and what they share: authentication and submitting
//! a command (202, or the outcome when the client prefers to wait).

mod subscriptions;

use crate::IngestState;
use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use balados_auth::Caller;
use balados_platform::http::{ApiError, authenticate};
use balados_platform::outcome;
use balados_schemas::{CommandEnvelope, CommandPayload, UserId};
use chrono::Utc;
use serde::Serialize;

pub fn router(state: IngestState) -> Router {
    Router::new()
        .route("/api/v1/subscriptions", post(subscriptions::subscribe))
        .route(
            "/api/v1/subscriptions/{feed}",
            delete(subscriptions::unsubscribe),
        )
        .with_state(state)
}

#[derive(Debug, Serialize)]
struct Accepted {
    command_id: uuid::Uuid,
    status: &'static str,
}

pub(crate) fn caller(
    state: &IngestState,
    headers: &HeaderMap,
) -> Result<(Caller, UserId), ApiError> {
    let caller = authenticate(headers, state.verifier.as_ref())?;
    let user = UserId::parse(&caller.user_id).map_err(|e| {
        ApiError::unauthorized(
            "invalid_token",
            format!("token subject is not a valid user id: {e}"),
        )
    })?;
    Ok((caller, user))
}

/// Wraps `payload` in an envelope and produces it: 202 once the broker has it, or — with
/// `Prefer: wait=N` — the outcome if it comes within N seconds (`creates`: the command creates a
/// resource, so success is 201).
pub(crate) async fn submit(
    state: &IngestState,
    headers: &HeaderMap,
    caller: Caller,
    user: UserId,
    payload: CommandPayload,
    creates: bool,
) -> Result<Response, ApiError> {
    let now = Utc::now();
    let command_id = crate::idempotency::command_id(headers, user.as_str(), &caller.app_id)?;
    let command = CommandEnvelope {
        command_id,
        user_id: user,
        occurred_at: now,
        received_at: now,
        app_id: Some(caller.app_id),
        device_id: caller.device_id,
        device_name: caller.device_name,
        reply_to: Some(state.replies.address().to_owned()),
        payload,
    };
    let kind = command.payload.kind();
    let wait = crate::prefer::requested_wait(headers);
    // Registered before producing, so that no outcome can arrive before its waiter.
    let waiter = wait.map(|_| state.replies.register(command.command_id));
    if let Err(e) = state.producer.send(&command).await {
        tracing::error!(error = %e, command.kind = kind, "command not accepted by the broker");
        return Err(ApiError::unavailable(
            "the command could not be stored; retry later",
        ));
    }
    state.metrics.add(
        "balados_ingest_commands_total",
        "Commands accepted.",
        &[("kind", kind)],
        1.0,
    );
    if let (Some(wait), Some(waiter)) = (wait, waiter) {
        if let Some(result) = waiter.outcome(wait).await {
            return Ok(outcome::response(&result, creates, wait));
        }
        state.metrics.add(
            "balados_ingest_wait_timeouts_total",
            "Waits that ended before the outcome.",
            &[],
            1.0,
        );
    }
    let body = Accepted {
        command_id: command.command_id,
        status: "accepted",
    };
    Ok((StatusCode::ACCEPTED, axum::Json(body)).into_response())
}
