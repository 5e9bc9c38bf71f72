//! `GET /api/v1/commands/{id}`: a command's outcome, later (the same shape as the answer to a
//! write with `Prefer: wait`). Only the command's user may read it.

use crate::QueryState;
use axum::extract::State;
use axum::response::Response;
use balados_platform::http::{ApiError, Authenticated, PathParams};
use balados_schemas::{CommandResult, UserId};

#[derive(Debug, sqlx::FromRow)]
struct Row {
    user_id: String,
    rejection_code: Option<String>,
    message: Option<String>,
    first_sequence: i64,
    event_count: i32,
    events_partition: i32,
    events_next_offset: i64,
    clamped: bool,
}

pub async fn get(
    State(state): State<QueryState>,
    auth: Authenticated,
    PathParams(id): PathParams<String>,
) -> Result<Response, ApiError> {
    let command_id = uuid::Uuid::parse_str(&id)
        .map_err(|_| ApiError::validation("invalid_command_id", "a command id is a UUID"))?;
    let row = sqlx::query_as::<_, Row>(
        "SELECT user_id, rejection_code, message, first_sequence, event_count, events_partition, events_next_offset, clamped
         FROM users.command_outcomes WHERE command_id = $1",
    )
    .bind(command_id)
    .fetch_optional(&state.pool)
    .await
    .map_err(super::unavailable)?;
    // Another user's command is as unknown as a command never seen.
    let row = row
        .filter(|r| r.user_id == auth.user.as_str())
        .ok_or_else(|| {
            ApiError::not_found("no outcome for this command (unknown, or not processed yet)")
        })?;
    let result = CommandResult {
        command_id,
        user_id: UserId::parse(&row.user_id)
            .map_err(|_| ApiError::not_found("no outcome for this command"))?,
        rejection_code: row.rejection_code,
        message: row.message,
        duplicate: false,
        first_sequence: u64::try_from(row.first_sequence).unwrap_or(0),
        event_count: u32::try_from(row.event_count).unwrap_or(0),
        events_partition: row.events_partition,
        events_next_offset: row.events_next_offset,
        clamped: row.clamped,
    };
    // A later read never answers 201: the creation is reported, not performed, here.
    Ok(balados_platform::outcome::body(&result, false))
}
