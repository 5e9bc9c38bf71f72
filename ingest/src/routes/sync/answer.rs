//! The answer of a sync, read from the read models once they show the decision: the server's
//! changes since `last_sync` (subscriptions and play statuses by their sync position; playlists,
//! which keep no position, all of them), every upload the server did not take as a conflict with
//! its reason (`resolution` is always `remote`: the server's side stands; an upload that won is
//! simply applied), and the new `sync_token`.

use super::SyncState;
use super::request::LastSync;
use balados_platform::http::ApiError;
use balados_query_api::consistency::Token;
use balados_schemas::{
    CommandPayload, CommandResult, SyncPlay, SyncPlaylist, SyncSubscription, UserId,
};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::collections::HashMap;

mod conflicts;
mod reads;

/// What the client sent, kept for the conflicts (the command itself goes to the broker).
#[derive(Debug, Default)]
pub struct Uploads {
    subscriptions: Vec<SyncSubscription>,
    plays: Vec<SyncPlay>,
    playlists: Vec<SyncPlaylist>,
}

impl Uploads {
    pub fn of(payload: &CommandPayload) -> Self {
        match payload {
            CommandPayload::Sync {
                subscriptions,
                plays,
                playlists,
                ..
            } => Self {
                subscriptions: subscriptions.clone(),
                plays: plays.clone(),
                playlists: playlists.clone(),
            },
            _ => Self::default(),
        }
    }
}

fn unavailable(e: &sqlx::Error) -> ApiError {
    tracing::error!(error = %e, "sync: the read models could not be read");
    ApiError::unavailable("the read models are unavailable; send the sync again")
}

/// Waits until the read models show the sync's events (none: nothing to wait for).
async fn readable(state: &SyncState, result: &CommandResult) -> Result<(), ApiError> {
    if result.events_next_offset < 0 {
        return Ok(());
    }
    let token = Token {
        partition: result.events_partition,
        next_offset: result.events_next_offset,
    };
    match state.consistency.reached(token).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(ApiError::unavailable(
            "the sync is saved but not readable yet; send it again with the same Idempotency-Key",
        )),
        Err(_) => Err(ApiError::unavailable("the read models are unavailable")),
    }
}

pub async fn answer(
    state: &SyncState,
    user: &UserId,
    last_sync: Option<LastSync>,
    received: DateTime<Utc>,
    result: &CommandResult,
    uploads: &Uploads,
) -> Result<Value, ApiError> {
    readable(state, result).await?;
    let pool = &state.readers;
    // Rows written before positions existed have 0: a first sync (-1) gets them too.
    let since = last_sync.map_or(-1, |l| l.position);
    let token = reads::last_position(pool, user)
        .await
        .map_err(|e| unavailable(&e))?;
    let feeds: Vec<String> = uploads.subscriptions.iter().map(|s| s.feed.id()).collect();
    let subs = reads::subscriptions(pool, user, since, &feeds)
        .await
        .map_err(|e| unavailable(&e))?;
    let items: Vec<String> = uploads.plays.iter().map(|p| p.item.id()).collect();
    let plays = reads::plays(pool, user, since, &items)
        .await
        .map_err(|e| unavailable(&e))?;
    let playlists = reads::playlists(pool, user)
        .await
        .map_err(|e| unavailable(&e))?;

    let since_time = last_sync.and_then(|l| DateTime::<Utc>::from_timestamp(l.time, 0));
    let mut conflicts = Vec::new();
    let by_feed: HashMap<&str, &reads::Sub> =
        subs.iter().map(|s| (s.feed_id.as_str(), s)).collect();
    conflicts.extend(conflicts::subscriptions(&uploads.subscriptions, &by_feed));
    let by_item: HashMap<&str, &reads::Play> =
        plays.iter().map(|p| (p.item_id.as_str(), p)).collect();
    conflicts.extend(conflicts::plays(&uploads.plays, &by_item));
    conflicts.extend(conflicts::playlists(
        &uploads.playlists,
        &playlists,
        since_time,
    ));

    let changed_subs: Vec<Value> = (subs.iter())
        .filter(|s| s.sync_position > since)
        .map(reads::Sub::to_json)
        .collect();
    let changed_plays: Vec<Value> = (plays.iter())
        .filter(|p| p.sync_position > since && p.updated_at.is_some())
        .map(reads::Play::to_json)
        .collect();
    let playlists: Vec<Value> = playlists.iter().map(reads::List::to_json).collect();
    Ok(json!({
        "sync_token": LastSync { position: token, time: received.timestamp() }.token(),
        "changes": {
            "subscriptions": changed_subs,
            "plays": changed_plays,
            "playlists": playlists,
        },
        "conflicts": conflicts,
    }))
}
