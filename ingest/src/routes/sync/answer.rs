//! The answer of a sync, read from the read models once they show the decision: a page of the
//! server's changes since `last_sync` (subscriptions and play statuses in the order of their sync
//! positions, [`PAGE`] of each at most; playlists, which keep no position, all of them), every
//! upload the server did not take as a conflict with its reason (`resolution` is always `remote`:
//! the server's side stands; an upload that won is simply applied), the `sync_token`, and `more`
//! when the client must continue with `GET /api/v1/sync?since=<sync_token>` for the next page.

use super::SyncState;
use super::page::{self, PAGE};
use super::token::{Cursor, SyncToken};
use balados_platform::http::ApiError;
use balados_query_api::consistency::Token;
use balados_schemas::{
    CommandPayload, CommandResult, SyncPlay, SyncPlaylist, SyncSubscription, UserId,
};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::PgConnection;
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

/// What one reading of a page found: the rows in the page and the token that follows it.
struct Paged {
    subs: Vec<reads::Sub>,
    plays: Vec<reads::Play>,
    token: SyncToken,
    more: bool,
}

/// The page after `cursor`. When it is the last, the token is the position the read models had
/// reached in this snapshot: everything decided later is beyond it.
async fn page_after(
    db: &mut PgConnection,
    user: &UserId,
    cursor: &Cursor,
    time: i64,
) -> Result<Paged, sqlx::Error> {
    let reached = reads::last_position(db, user).await?;
    let mut subs = reads::subscriptions_after(db, user, cursor, PAGE + 1).await?;
    let mut plays = reads::plays_after(db, user, cursor, PAGE + 1).await?;
    let cut = page::cut(&subs, &plays, PAGE);
    subs.truncate(cut.subscriptions);
    plays.truncate(cut.plays);
    let more = cut.next.is_some();
    let cursor = cut.next.unwrap_or(Cursor::at(reached));
    Ok(Paged {
        subs,
        plays,
        token: SyncToken { cursor, time },
        more,
    })
}

fn body(page: &Paged, playlists: Option<Vec<Value>>, conflicts: Vec<Value>) -> Value {
    let mut changes = json!({
        "subscriptions": page.subs.iter().map(reads::Sub::to_json).collect::<Vec<_>>(),
        "plays": page.plays.iter().map(reads::Play::to_json).collect::<Vec<_>>(),
    });
    if let Some(playlists) = playlists {
        changes["playlists"] = Value::Array(playlists);
    }
    json!({
        "sync_token": page.token.encode(),
        "more": page.more,
        "changes": changes,
        "conflicts": conflicts,
    })
}

/// The answer of a `POST`: the first page of what changed since `last_sync`, every playlist, and
/// the conflicts of the uploads.
pub async fn first(
    state: &SyncState,
    user: &UserId,
    last_sync: Option<SyncToken>,
    received: DateTime<Utc>,
    result: &CommandResult,
    uploads: &Uploads,
) -> Result<Value, ApiError> {
    readable(state, result).await?;
    let since_time = (last_sync.as_ref()).and_then(|l| DateTime::<Utc>::from_timestamp(l.time, 0));
    let cursor = last_sync.map_or(Cursor::START, |l| l.cursor);
    let feeds: Vec<String> = uploads.subscriptions.iter().map(|s| s.feed.id()).collect();
    let items: Vec<String> = uploads.plays.iter().map(|p| p.item.id()).collect();
    let read = async {
        let mut tx = reads::snapshot(&state.readers).await?;
        let page = page_after(&mut tx, user, &cursor, received.timestamp()).await?;
        let subs = reads::named_subscriptions(&mut tx, user, &feeds).await?;
        let plays = reads::named_plays(&mut tx, user, &items).await?;
        let playlists = reads::playlists(&mut tx, user).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>((page, subs, plays, playlists))
    };
    let (page, subs, plays, playlists) = read.await.map_err(|e| unavailable(&e))?;

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
    let playlists = playlists.iter().map(reads::List::to_json).collect();
    Ok(body(&page, Some(playlists), conflicts))
}

/// The answer of a continuation (`GET`): the next page after `since`, nothing else — the
/// playlists and the conflicts came with the first page. The token keeps the time of the sync
/// that began the reading: the client saw the server's playlists then.
pub async fn next(state: &SyncState, user: &UserId, since: SyncToken) -> Result<Value, ApiError> {
    let read = async {
        let mut tx = reads::snapshot(&state.readers).await?;
        let page = page_after(&mut tx, user, &since.cursor, since.time).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(page)
    };
    let page = read.await.map_err(|e| unavailable(&e))?;
    Ok(body(&page, None, Vec::new()))
}
