//! `POST /play/batch`: up to [`MAX_BATCH`] plays in one request. Each play is validated and
//! submitted as its own command, and answered on its own: a bad play does not sink the others.

use super::episodes::PlayBody;
use super::{count_wait_timeout, envelope, produce};
use crate::IngestState;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use balados_platform::http::{ApiError, Authenticated, Json};
use balados_platform::outcome;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Most plays in one request.
pub const MAX_BATCH: usize = 1_000;

#[derive(Debug, Deserialize)]
pub struct BatchBody {
    /// Kept as raw JSON so that one malformed play is reported alone.
    plays: Vec<serde_json::Value>,
}

/// The answer for one play: its index in the request, and either its outcome (when waited for),
/// its acceptance, or why it was invalid.
#[derive(Debug, Serialize)]
struct ItemAnswer<'a> {
    index: usize,
    http_status: u16,
    #[serde(flatten)]
    body: ItemBody<'a>,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
enum ItemBody<'a> {
    Outcome(outcome::Outcome<'a>),
    Accepted {
        command_id: Uuid,
        status: &'static str,
    },
    Invalid {
        status: &'static str,
        error: String,
        code: &'static str,
    },
}

/// The command id of play `index`: derived from the request's Idempotency-Key when there is one,
/// so that a retried batch yields the same commands.
fn item_command_id(base: Option<Uuid>, index: usize) -> Uuid {
    match base {
        Some(base) => Uuid::new_v5(&base, &index.to_be_bytes()),
        None => Uuid::new_v4(),
    }
}

pub async fn record_plays(
    State(state): State<IngestState>,
    auth: Authenticated,
    headers: HeaderMap,
    body: Result<Json<BatchBody>, ApiError>,
) -> Result<Response, ApiError> {
    let Json(body) = body?;
    if body.plays.len() > MAX_BATCH {
        return Err(ApiError::validation(
            "batch_too_large",
            format!(
                "a batch holds at most {MAX_BATCH} plays, not {}",
                body.plays.len()
            ),
        ));
    }
    // A batch costs its plays: without it, 20 requests a second would be 20,000 commands.
    if let Some(budget) = &state.writes {
        let extra = u64::try_from(body.plays.len().saturating_sub(1)).unwrap_or(u64::MAX);
        budget.charge(auth.user.as_str(), &auth.caller.app_id, extra)?;
    }
    let base = headers
        .contains_key("idempotency-key")
        .then(|| crate::idempotency::command_id(&headers, auth.user.as_str(), &auth.caller.app_id))
        .transpose()?;
    let wait = crate::prefer::requested_wait(&headers);

    let mut invalid = Vec::new();
    let mut commands = Vec::new();
    for (index, raw) in body.plays.into_iter().enumerate() {
        let submission = serde_json::from_value::<PlayBody>(raw)
            .map_err(|e| ApiError::validation("invalid_play", format!("play {index}: {e}")))
            .and_then(PlayBody::into_submission);
        match submission {
            Ok(s) => {
                let id = item_command_id(base, index);
                commands.push((index, envelope(&state, &auth, id, s.payload, s.occurred_at)));
            }
            Err(e) => invalid.push((index, e)),
        }
    }
    // Produced concurrently: the producer batches them; the partition keeps the user's order,
    // and each play carries its own client time.
    let produced = futures::future::join_all(
        commands
            .iter()
            .map(|(_, command)| produce(&state, command, wait.is_some())),
    )
    .await;
    // All waits share the one deadline the client asked for.
    let outcomes = futures::future::join_all(produced.into_iter().map(|p| async move {
        match (p?, wait) {
            (Some(waiter), Some(wait)) => Ok(waiter.outcome(wait).await),
            _ => Ok(None),
        }
    }))
    .await;

    let mut answers: Vec<ItemAnswer<'_>> = Vec::with_capacity(commands.len() + invalid.len());
    for ((index, command), outcome) in commands.iter().zip(&outcomes) {
        answers.push(match outcome {
            Ok(Some(result)) => {
                let (status, body) = outcome::outcome(result, false);
                ItemAnswer {
                    index: *index,
                    http_status: status.as_u16(),
                    body: ItemBody::Outcome(body),
                }
            }
            Ok(None) => {
                if wait.is_some() {
                    count_wait_timeout(&state);
                }
                ItemAnswer {
                    index: *index,
                    http_status: StatusCode::ACCEPTED.as_u16(),
                    body: ItemBody::Accepted {
                        command_id: command.command_id,
                        status: "accepted",
                    },
                }
            }
            Err(e) => invalid_answer(*index, e),
        });
    }
    answers.extend(invalid.iter().map(|(index, e)| invalid_answer(*index, e)));
    answers.sort_by_key(|a| a.index);
    let mut response = (
        if wait.is_some() {
            StatusCode::OK
        } else {
            StatusCode::ACCEPTED
        },
        axum::Json(serde_json::json!({ "results": answers })),
    )
        .into_response();
    if let Some(wait) = wait
        && let Ok(value) = HeaderValue::from_str(&format!("wait={}", wait.as_secs()))
    {
        response.headers_mut().insert("preference-applied", value);
    }
    Ok(response)
}

fn invalid_answer(index: usize, e: &ApiError) -> ItemAnswer<'static> {
    ItemAnswer {
        index,
        http_status: e.status.as_u16(),
        body: ItemBody::Invalid {
            status: if e.status.is_server_error() {
                "failed"
            } else {
                "invalid"
            },
            error: e.message.clone(),
            code: e.code,
        },
    }
}
