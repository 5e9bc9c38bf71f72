//! `POST /api/v1/sync` (scope `user.sync`): the original's bulk sync. The client's subscriptions,
//! play statuses and playlists become one `Sync` command, merged by the aggregate into ordinary
//! events (docs/architecture.md §11); the answer always comes after the decision and once the read
//! models show it: the first page of what changed on the server since `last_sync`, each upload the
//! server did not take as a conflict with its reason, and the `sync_token`. When more remains
//! (`"more": true`), `GET /api/v1/sync?since=<sync_token>` (same scope) reads the next page: a read
//! only, so continuing never sends the uploads again. Reading the read models is why these routes
//! have their own state, [`SyncState`]: the ingest's, the readers' pool and the materializer's
//! progress, wired by the app like gpodder's.

mod answer;
mod page;
mod request;
mod token;

use super::{count_wait_timeout, envelope, produce};
use crate::IngestState;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Router, response};
use balados_platform::http::{ApiError, Authenticated, Json, Verifies, needs};
use balados_platform::outcome;
use serde::Deserialize;
use std::time::Duration;

/// How long the route waits for the decision when the client does not say (`Prefer: wait=N`).
const DECISION_WAIT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct SyncState {
    pub ingest: IngestState,
    /// The read models, read after the decision.
    pub readers: sqlx::PgPool,
    /// The materializer's progress: the answer waits until the sync's events are readable.
    pub consistency: balados_query_api::Consistency,
}

impl Verifies for SyncState {
    fn verifier(&self) -> &dyn balados_auth::TokenVerifier {
        self.ingest.verifier.as_ref()
    }
}

pub fn router(state: SyncState) -> Router {
    let s = &state;
    Router::new()
        .route(
            "/api/v1/sync",
            needs(post(sync).get(more), s, balados_auth::Permission::Sync),
        )
        .with_state(state)
}

async fn sync(
    State(state): State<SyncState>,
    auth: Authenticated,
    headers: HeaderMap,
    body: Result<Json<request::SyncBody>, ApiError>,
) -> Result<Response, ApiError> {
    let Json(body) = body?;
    let (last_sync, payload) = body.into_payload()?;
    let uploads = answer::Uploads::of(&payload);
    let ingest = &state.ingest;
    let command_id =
        crate::idempotency::command_id(&headers, auth.user.as_str(), &auth.caller.app_id)?;
    let command = envelope(ingest, &auth, command_id, payload, None);
    let wait = crate::prefer::requested_wait(&headers).unwrap_or(DECISION_WAIT);
    let waiter = produce(ingest, &command, true).await?;
    let Some(result) = (match waiter {
        Some(waiter) => waiter.outcome(wait).await,
        None => None,
    }) else {
        count_wait_timeout(ingest);
        return Err(ApiError::unavailable(
            "the sync is stored but not decided yet; send it again with the same Idempotency-Key",
        ));
    };
    if result.rejection_code.is_some() {
        return Ok(outcome::response(&result, false, wait));
    }
    let received = command.received_at;
    let body = answer::first(&state, &auth.user, last_sync, received, &result, &uploads).await?;
    Ok(response::Json(body).into_response())
}

#[derive(Debug, Deserialize)]
struct Since {
    since: Option<String>,
}

/// The next page of a reading a sync began.
async fn more(
    State(state): State<SyncState>,
    auth: Authenticated,
    query: Result<Query<Since>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(Since { since }) = query.map_err(|e| {
        ApiError::validation(
            "invalid_query",
            balados_platform::http::bounded(&e.body_text()),
        )
    })?;
    let since = token::SyncToken::parse(since.as_deref().unwrap_or_default())?;
    let body = answer::next(&state, &auth.user, since).await?;
    Ok(response::Json(body).into_response())
}
