//! `POST|GET /api/2/episodes/{username}.json`: episode actions up and down (the Nextcloud routes
//! share the logic). An upload becomes one `RecordEpisodeAction` per action, with the action's
//! own time: the aggregate finds the episode by GUID or media URL and lets the newest action win.
//! One invalid action never fails the upload: it is skipped and reported. A download lists, per
//! episode, its latest state as an action (gpodder.net's `aggregated=true`, always: what clients
//! apply), in pages ordered by position.

use crate::GpodderState;
use crate::auth::Caller;
use crate::body::JsonBody;
use crate::devices::{ensure, json_file};
use crate::error::GpodderError;
use crate::pipeline::{Sent, decide_sent, last_position, readable};
use crate::urls::{Normalised, normalise};
use axum::Json;
use axum::extract::{Query, State};
use balados_platform::http::PathParams;
use balados_schemas::{CommandPayload, DeviceId, EpisodeAction, ItemId, Seconds, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeSet;

/// Actions in one download page: the answer's `timestamp` then says where the next page starts.
pub const PAGE: i64 = 1_000;
/// Actions in one upload (AntennaPod sends 30; a first sync of a large library, more).
pub const MAX_UPLOAD: usize = 5_000;

#[derive(Debug, Serialize)]
pub struct Skipped {
    index: usize,
    error: String,
}

#[derive(Debug, Serialize)]
pub struct Uploaded {
    timestamp: i64,
    update_urls: Vec<(String, String)>,
    /// Actions not applied, with why (an addition to the protocol; clients ignore it).
    skipped: Vec<Skipped>,
}

/// One action as sent, checked: its command, device and time.
fn parse(action: &Value, update_urls: &mut Vec<(String, String)>) -> Result<Sent, String> {
    let text = |key: &str| action.get(key).and_then(Value::as_str).map(str::trim);
    let podcast = text("podcast").ok_or("podcast is required")?;
    let feed = match normalise(podcast) {
        Normalised::Feed { url, rewritten } => {
            if rewritten {
                update_urls.push((podcast.to_owned(), url.as_str().to_owned()));
            }
            url
        }
        Normalised::Invalid => return Err(format!("podcast is not a feed URL: {podcast:.100}")),
    };
    let episode = text("episode").ok_or("episode is required")?;
    let guid = text("guid").filter(|g| !g.is_empty()).unwrap_or(episode);
    let item = ItemId::new(guid, episode).map_err(|e| format!("episode or guid: {e}"))?;
    let kind = text("action")
        .ok_or("action is required")?
        .to_ascii_lowercase();
    let kind = EpisodeAction::parse(&kind).ok_or("action is play, download, delete or new")?;
    let seconds = |key: &str| -> Result<Option<Seconds>, String> {
        match action.get(key).and_then(Value::as_i64) {
            // -1 is some clients' "unknown".
            None | Some(i64::MIN..0) => Ok(None),
            Some(n) => Seconds::parse(n)
                .map(Some)
                .map_err(|e| format!("{key}: {e}")),
        }
    };
    let device = text("device")
        .filter(|d| !d.is_empty())
        .map(|d| DeviceId::parse(d).map_err(|e| format!("device {e}")))
        .transpose()?;
    let at = match action.get("timestamp") {
        None | Some(Value::Null) => None,
        Some(value) => Some(crate::time::from_json(value).map_err(|e| format!("timestamp: {e}"))?),
    };
    Ok(Sent {
        device,
        at,
        payload: CommandPayload::RecordEpisodeAction {
            feed,
            item,
            action: kind,
            started: seconds("started")?,
            position: seconds("position")?,
            total: seconds("total")?,
        },
    })
}

/// Applies the actions of an upload; what was skipped, and the feeds rewritten.
pub async fn apply(
    state: &GpodderState,
    user: &UserId,
    actions: &[Value],
) -> Result<(Vec<(String, String)>, Vec<Skipped>), GpodderError> {
    if actions.len() > MAX_UPLOAD {
        return Err(GpodderError::bad_request(
            "too_many_actions",
            format!("at most {MAX_UPLOAD} actions per upload"),
        ));
    }
    let (mut update_urls, mut skipped) = (Vec::new(), Vec::new());
    let mut sent = Vec::new();
    let mut indexes = Vec::new();
    for (index, action) in actions.iter().enumerate() {
        match parse(action, &mut update_urls) {
            Ok(one) => {
                sent.push(one);
                indexes.push(index);
            }
            Err(error) => skipped.push(Skipped { index, error }),
        }
    }
    // A device the aggregate refuses (the user's limit of devices) skips its own actions only.
    let devices: BTreeSet<_> = sent.iter().filter_map(|s| s.device.clone()).collect();
    let mut refused = BTreeSet::new();
    for device in devices {
        if let Err(e) = ensure(state, user, &device).await {
            // Only the aggregate's refusal skips the device's actions; anything else (the service
            // unavailable, the user's writes budget spent) fails the upload, which is retried.
            if e.api.code != "rejected" {
                return Err(e);
            }
            refused.insert(device);
        }
    }
    let (sent, indexes): (Vec<Sent>, Vec<usize>) = sent
        .into_iter()
        .zip(indexes)
        .filter_map(|(one, index)| match &one.device {
            Some(device) if refused.contains(device) => {
                let error = format!("device {device} refused (too many devices?)");
                skipped.push(Skipped { index, error });
                None
            }
            _ => Some((one, index)),
        })
        .unzip();
    let results = decide_sent(state, user, sent).await?;
    for (index, result) in indexes.into_iter().zip(&results) {
        if result.rejection_code.is_some() {
            let error = result.message.clone().unwrap_or_else(|| "refused".into());
            skipped.push(Skipped { index, error });
        }
    }
    skipped.sort_by_key(|s| s.index);
    readable(state, &results).await?;
    Ok((update_urls, skipped))
}

pub async fn upload(
    State(state): State<GpodderState>,
    caller: Caller,
    PathParams(file): PathParams<String>,
    JsonBody(crate::body::Bounded(actions)): JsonBody<crate::body::Bounded<Value>>,
) -> Result<Json<Uploaded>, GpodderError> {
    caller.owns(json_file(&file)?)?;
    let (update_urls, skipped) = apply(&state, &caller.user_id, &actions).await?;
    Ok(Json(Uploaded {
        timestamp: last_position(&state, &caller.user_id).await?,
        update_urls,
        skipped,
    }))
}

#[derive(Debug, Deserialize)]
pub struct Filters {
    #[serde(default)]
    since: Option<String>,
    #[serde(default)]
    podcast: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Action {
    podcast: String,
    episode: String,
    guid: String,
    action: &'static str,
    timestamp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    started: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    position: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    total: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct Actions {
    actions: Vec<Action>,
    timestamp: i64,
}

#[derive(sqlx::FromRow)]
struct Row {
    feed_url: String,
    enclosure_url: String,
    guid: String,
    position: i64,
    duration: Option<i64>,
    played: bool,
    updated_at: DateTime<Utc>,
    sync_position: i64,
}

/// `since` as clients send it: missing or blank is 0 (everything).
pub fn since(raw: Option<&str>) -> Result<i64, GpodderError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(0),
        Some(raw) => raw
            .parse::<i64>()
            .map_err(|_| GpodderError::bad_request("invalid_since", "since is an integer")),
    }
}

/// Every episode a user may track: a "page" that holds everything.
pub fn everything() -> i64 {
    i64::try_from(balados_domain::MAX_EPISODES).unwrap_or(i64::MAX)
}

/// The episodes changed after `since` (of `podcast` when given), as actions, a page at most; and
/// where the next call should start.
pub async fn changes(
    state: &GpodderState,
    user: &UserId,
    since: i64,
    podcast: Option<&str>,
) -> Result<Actions, GpodderError> {
    // From the start, everything at once (bounded by the episodes a user may track): rows from
    // before positions existed all sit at 0, which a page boundary could not step over.
    let page = if since <= 0 { everything() } else { PAGE };
    changes_within(state, user, since, podcast, page).await
}

/// [`changes`] with pages of `page` actions: a full page's `timestamp` is its last action's
/// position.
pub async fn changes_within(
    state: &GpodderState,
    user: &UserId,
    since: i64,
    podcast: Option<&str>,
    page: i64,
) -> Result<Actions, GpodderError> {
    // The position first: what changes meanwhile comes again next time (never lost).
    let reached = last_position(state, user).await?;
    let podcast = podcast.and_then(|p| match normalise(p) {
        Normalised::Feed { url, .. } => Some(url.as_str().to_owned()),
        Normalised::Invalid => None,
    });
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT feed_url, enclosure_url, guid, position, duration, played, updated_at, sync_position
         FROM users.play_statuses
         WHERE user_id = $1 AND ($2 <= 0 OR sync_position > $2) AND updated_at IS NOT NULL
           AND ($3::text IS NULL OR feed_url = $3)
         ORDER BY sync_position, item_id LIMIT $4",
    )
    .bind(user.as_str())
    .bind(since)
    .bind(podcast)
    .bind(page)
    .fetch_all(&state.readers)
    .await?;
    // A full page ends at its last row: the next call starts there. Else everything up to the
    // reached position was read.
    let timestamp = match rows.last() {
        Some(last) if rows.len() == usize::try_from(page).unwrap_or(usize::MAX) => {
            last.sync_position
        }
        _ => reached.max(since),
    };
    Ok(Actions {
        actions: rows.into_iter().map(action_of).collect(),
        timestamp,
    })
}

/// A play status as the action that led to it: `new` when marked unplayed, else `play` — with
/// `started` and `total` only when the duration is known (clients want both or neither).
fn action_of(row: Row) -> Action {
    let unplayed = !row.played && row.position == 0;
    let known = row.duration.filter(|d| *d > 0);
    // The media URL as the client first reported it; a GUID equal to it means none was given.
    let guid = if row.guid == row.enclosure_url {
        String::new()
    } else {
        row.guid
    };
    Action {
        podcast: row.feed_url,
        episode: row.enclosure_url,
        guid,
        action: if unplayed { "new" } else { "play" },
        timestamp: crate::time::format(row.updated_at),
        started: (!unplayed).then_some(known.map(|_| 0)).flatten(),
        position: (!unplayed).then_some(row.position),
        total: (!unplayed).then_some(known).flatten(),
    }
}

pub async fn download(
    State(state): State<GpodderState>,
    caller: Caller,
    PathParams(file): PathParams<String>,
    Query(filters): Query<Filters>,
) -> Result<Json<Actions>, GpodderError> {
    caller.owns(json_file(&file)?)?;
    let since = since(filters.since.as_deref())?;
    let answer = changes(&state, &caller.user_id, since, filters.podcast.as_deref()).await?;
    Ok(Json(answer))
}
