//! The write routes, one module per resource.

mod subscriptions;

use crate::IngestState;
use axum::Router;
use axum::routing::{delete, post};

pub fn router(state: IngestState) -> Router {
    Router::new()
        .route("/api/v1/subscriptions", post(subscriptions::subscribe))
        .route(
            "/api/v1/subscriptions/{feed}",
            delete(subscriptions::unsubscribe),
        )
        .with_state(state)
}

use balados_auth::Caller;
use balados_platform::http::{ApiError, authenticate};
use balados_schemas::{CommandEnvelope, CommandPayload, UserId};
use chrono::Utc;
use serde::Serialize;

#[derive(Debug, Serialize)]
pub(crate) struct Accepted {
    command_id: uuid::Uuid,
    status: &'static str,
}

pub(crate) fn caller(
    state: &IngestState,
    headers: &axum::http::HeaderMap,
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

/// Wraps `payload` in an envelope and produces it; 202 once the broker has it.
pub(crate) async fn submit(
    state: &IngestState,
    caller: Caller,
    user: UserId,
    payload: CommandPayload,
) -> Result<
    (
        axum::http::StatusCode,
        balados_platform::http::Json<Accepted>,
    ),
    ApiError,
> {
    let now = Utc::now();
    let command = CommandEnvelope {
        command_id: uuid::Uuid::new_v4(),
        user_id: user,
        occurred_at: now,
        received_at: now,
        app_id: Some(caller.app_id),
        device_id: caller.device_id,
        device_name: caller.device_name,
        reply_to: Some(state.reply_to.clone()),
        payload,
    };
    let kind = command.payload.kind();
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
    Ok((
        axum::http::StatusCode::ACCEPTED,
        balados_platform::http::Json(Accepted {
            command_id: command.command_id,
            status: "accepted",
        }),
    ))
}
