//! gpodder writes travel the pipeline like every other write, as app `gpodder` for the device in
//! the path, and are answered only after the decision (gpodder clients take anything but 200 as a
//! failure, so never 202). Uploads that return a `timestamp` are answered once the read models
//! show their effects too: the timestamp is the position the user's read models have reached,
//! never "now", so the next `since` skips nothing in flight.

use crate::GpodderState;
use crate::error::GpodderError;
use balados_platform::outcome::rejection_status;
use balados_query_api::consistency::Token;
use balados_schemas::{CommandPayload, CommandResult, DeviceId, UserId};
use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use std::time::Duration;

/// How long a write waits for its decision (the server's request deadline is longer).
const DECISION_WAIT: Duration = Duration::from_secs(10);
/// Commands of one upload in flight at once (each waits for its own outcome). A decision takes
/// about one aggregator batch whatever the number in flight, so this sets how long a long history
/// takes: 5,000 actions are 20 rounds (seconds), where 32 at a time made 157 rounds, past the
/// request deadline on a loaded machine. An aggregator batch holds 1,000 commands: one upload
/// takes a quarter of it at most, the other users' commands share the rest.
const IN_FLIGHT: usize = 256;

/// Sends `payloads` for `user` from `device` and waits for every decision, in the order given.
pub async fn decide_all(
    state: &GpodderState,
    user: &UserId,
    device: &DeviceId,
    payloads: Vec<CommandPayload>,
) -> Result<Vec<CommandResult>, GpodderError> {
    let sent = payloads
        .into_iter()
        .map(|payload| Sent {
            device: Some(device.clone()),
            at: None,
            payload,
        })
        .collect();
    decide_sent(state, user, sent).await
}

/// One command to send: from which device (if the client said), when it happened (if the client
/// said: an episode action's own time), and what.
#[derive(Debug)]
pub struct Sent {
    pub device: Option<DeviceId>,
    pub at: Option<DateTime<Utc>>,
    pub payload: CommandPayload,
}

/// Sends every command for `user` and waits for every decision, answered in the order given. The
/// upload pays for its commands in the user's writes budget first (paced, not refused, within
/// `balados_ingest::PACING_PATIENCE`): without it one user's uploads could fill the pipeline.
pub async fn decide_sent(
    state: &GpodderState,
    user: &UserId,
    sent: Vec<Sent>,
) -> Result<Vec<CommandResult>, GpodderError> {
    state.ingest.pace(user, sent.len()).await?;
    let outcomes: Vec<_> = futures::stream::iter(sent)
        .map(|sent| {
            let origin = balados_ingest::Origin {
                app_id: "gpodder",
                device: sent.device.map(|d| (d, None)),
                occurred_at: sent.at,
            };
            balados_ingest::submit_for_user(
                &state.ingest,
                user.clone(),
                origin,
                sent.payload,
                DECISION_WAIT,
            )
        })
        .buffered(IN_FLIGHT)
        .collect()
        .await;
    let mut results = Vec::with_capacity(outcomes.len());
    for outcome in outcomes {
        match outcome? {
            Some(result) => results.push(result),
            None => {
                return Err(GpodderError::unavailable(
                    "the change is stored but not decided yet; retry in a moment",
                ));
            }
        }
    }
    Ok(results)
}

/// One command, decided: `Err` with the rejection's status and message when refused.
pub async fn decide_one(
    state: &GpodderState,
    user: &UserId,
    device: &DeviceId,
    payload: CommandPayload,
) -> Result<CommandResult, GpodderError> {
    let result = decide_all(state, user, device, vec![payload])
        .await?
        .pop()
        .ok_or_else(|| GpodderError::unavailable("no decision"))?;
    if let Some(code) = &result.rejection_code {
        let status = rejection_status(code);
        let message = result.message.clone().unwrap_or_else(|| code.clone());
        return Err(balados_platform::http::ApiError::new(status, "rejected", message).into());
    }
    Ok(result)
}

/// Waits until the read models show every event of `results` (they are one user's: one
/// partition of `events`).
pub async fn readable(state: &GpodderState, results: &[CommandResult]) -> Result<(), GpodderError> {
    let Some(token) = results
        .iter()
        .filter(|r| r.events_next_offset >= 0)
        .map(|r| Token {
            partition: r.events_partition,
            next_offset: r.events_next_offset,
        })
        .max_by_key(|t| t.next_offset)
    else {
        return Ok(());
    };
    match state.consistency.reached(token).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(GpodderError::unavailable(
            "the change is saved but not visible yet; retry in a moment",
        )),
        Err(_) => Err(GpodderError::unavailable("the read models are unavailable")),
    }
}

/// The position the user's read models have reached: the `timestamp` of gpodder answers and the
/// `since` of the next call (0 for a user with nothing yet).
pub async fn last_position(state: &GpodderState, user: &UserId) -> Result<i64, GpodderError> {
    let found: Option<(i64,)> =
        sqlx::query_as("SELECT last_position FROM materializer.user_sequences WHERE user_id = $1")
            .bind(user.as_str())
            .fetch_optional(&state.readers)
            .await?;
    Ok(found.map_or(0, |(position,)| position))
}
