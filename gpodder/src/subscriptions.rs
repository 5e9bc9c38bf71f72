//! `GET|POST /api/2/subscriptions/{username}/{deviceid}.json`: the changes since a position, and
//! an upload of added and removed feeds. All of a user's devices share one list (one sync
//! group): a change from one device is a change for every other.
//!
//! `since` and `timestamp` are positions, not clocks: every event of a user carries a
//! `sync_position` (Unix-seconds-like, increasing per user, assigned by the aggregate), each
//! subscription row the position of its last change, and the user's read models the position
//! they have reached. A download returns the rows changed after `since` and that reached
//! position, read first, so a row changed meanwhile comes again next time (a duplicate, never a
//! loss).

use crate::GpodderState;
use crate::auth::Caller;
use crate::body::JsonBody;
use crate::devices::{device_id, ensure, json_file};
use crate::error::GpodderError;
use crate::pipeline::{decide_all, last_position, readable};
use crate::urls::{Normalised, normalise};
use axum::Json;
use axum::extract::{Query, State};
use balados_platform::http::PathParams;
use balados_schemas::{CommandPayload, DeviceId, FeedUrl, UserId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The user's active feeds, sorted.
pub async fn active_urls(state: &GpodderState, user: &UserId) -> Result<Vec<String>, GpodderError> {
    let rows: Vec<(String,)> = sqlx::query_as(concat!(
        "SELECT feed_url FROM users.subscriptions WHERE user_id = $1 AND ",
        active!(),
        " ORDER BY feed_url"
    ))
    .bind(user.as_str())
    .fetch_all(&state.readers)
    .await?;
    Ok(rows.into_iter().map(|(url,)| url).collect())
}

#[derive(Debug, Deserialize)]
pub struct Since {
    /// Missing is 0 (everything): lenient where gpodder.net demanded it.
    #[serde(default)]
    since: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Changes {
    add: Vec<String>,
    remove: Vec<String>,
    timestamp: i64,
}

pub async fn changes(
    State(state): State<GpodderState>,
    caller: Caller,
    PathParams((username, file)): PathParams<(String, String)>,
    Query(query): Query<Since>,
) -> Result<Json<Changes>, GpodderError> {
    caller.owns(&username)?;
    device_id(json_file(&file)?)?;
    let since = crate::episodes::since(query.since.as_deref())?;
    changes_since(&state, &caller.user_id, since, Some(PAGE))
        .await
        .map(Json)
}

/// Subscription changes in one answer of the gpodder API, at most: the answer's `timestamp` then
/// says where the next page starts.
pub const PAGE: i64 = 1_000;

/// The feeds whose subscription changed after `since` (all of them from 0), and where the next
/// call should start: the position reached, or — when `page` cut the answer — the position of the
/// last change in it (each change has a position of its own, so the next page starts exactly
/// after it). Shared with the Nextcloud route, which does not page (AntennaPod replaces the
/// answer's timestamp by its own clock).
pub async fn changes_since(
    state: &GpodderState,
    user: &UserId,
    since: i64,
    page: Option<i64>,
) -> Result<Changes, GpodderError> {
    // The position first: rows changed after it are delivered again next time.
    let reached = last_position(state, user).await?;
    // From 0 everything at once: rows from before positions existed all sit at 0.
    let page = page.filter(|_| since > 0);
    let rows: Vec<(String, bool, i64)> = sqlx::query_as(concat!(
        "SELECT feed_url, (",
        active!(),
        "), sync_position FROM users.subscriptions \
         WHERE user_id = $1 AND ($2 <= 0 OR sync_position > $2) \
         ORDER BY sync_position, feed_id LIMIT $3"
    ))
    .bind(user.as_str())
    .bind(since)
    .bind(page.unwrap_or(i64::MAX))
    .fetch_all(&state.readers)
    .await?;
    let full = page.is_some_and(|p| i64::try_from(rows.len()).unwrap_or(i64::MAX) >= p);
    let timestamp = match rows.last() {
        Some((_, _, position)) if full => *position,
        _ => reached.max(since),
    };
    let (add, remove): (Vec<_>, Vec<_>) = rows.into_iter().partition(|(_, active, _)| *active);
    let mut add: Vec<String> = add.into_iter().map(|(url, _, _)| url).collect();
    let mut remove: Vec<String> = remove.into_iter().map(|(url, _, _)| url).collect();
    add.sort();
    remove.sort();
    Ok(Changes {
        add,
        remove,
        timestamp,
    })
}

#[derive(Debug, Deserialize)]
pub struct Upload {
    #[serde(default)]
    add: crate::body::Bounded<String>,
    #[serde(default)]
    remove: crate::body::Bounded<String>,
}

#[derive(Debug, Serialize)]
pub struct Uploaded {
    timestamp: i64,
    update_urls: Vec<(String, String)>,
}

/// The feeds of a list as sent, normalised; each rewrite or refusal reported as gpodder.net does
/// (`[old, new]`, or `[url, ""]` for a URL skipped).
pub fn normalise_all(raw: &[String], update_urls: &mut Vec<(String, String)>) -> Vec<FeedUrl> {
    let mut feeds = Vec::with_capacity(raw.len());
    for url in raw {
        match normalise(url) {
            Normalised::Feed {
                url: feed,
                rewritten,
            } => {
                if rewritten {
                    update_urls.push((url.clone(), feed.as_str().to_owned()));
                }
                feeds.push(feed);
            }
            Normalised::Invalid => update_urls.push((url.clone(), String::new())),
        }
    }
    feeds
}

/// Subscribes to `add` and unsubscribes from `remove` from `device`, once decided and visible;
/// feeds the aggregate refused (a limit reached) are reported as skipped.
pub async fn apply(
    state: &GpodderState,
    user: &UserId,
    device: &DeviceId,
    add: Vec<FeedUrl>,
    remove: Vec<FeedUrl>,
    update_urls: &mut Vec<(String, String)>,
) -> Result<(), GpodderError> {
    ensure(state, user, device).await?;
    let feeds: Vec<String> = add
        .iter()
        .chain(&remove)
        .map(|f| f.as_str().to_owned())
        .collect();
    let payloads = add
        .into_iter()
        .map(|feed| CommandPayload::Subscribe {
            feed,
            source_id: None,
        })
        .chain(
            remove
                .into_iter()
                .map(|feed| CommandPayload::Unsubscribe { feed }),
        )
        .collect();
    let results = decide_all(state, user, device, payloads).await?;
    for (feed, result) in feeds.into_iter().zip(&results) {
        if let Some(code) = &result.rejection_code {
            tracing::info!(rejection.code = %code, "a gpodder subscription change was refused");
            update_urls.push((feed, String::new()));
        }
    }
    readable(state, &results).await
}

pub async fn upload(
    State(state): State<GpodderState>,
    caller: Caller,
    PathParams((username, file)): PathParams<(String, String)>,
    JsonBody(upload): JsonBody<Upload>,
) -> Result<Json<Uploaded>, GpodderError> {
    caller.owns(&username)?;
    let device = device_id(json_file(&file)?)?;
    let Checked {
        add,
        remove,
        mut update_urls,
    } = checked(&upload.add.0, &upload.remove.0)?;
    apply(
        &state,
        &caller.user_id,
        &device,
        add,
        remove,
        &mut update_urls,
    )
    .await?;
    let timestamp = last_position(&state, &caller.user_id).await?;
    Ok(Json(Uploaded {
        timestamp,
        update_urls,
    }))
}

/// An upload's lists, checked.
#[derive(Debug)]
pub struct Checked {
    pub add: Vec<FeedUrl>,
    pub remove: Vec<FeedUrl>,
    /// `[sent, stored]` for each URL rewritten, `[sent, ""]` for each skipped.
    pub update_urls: Vec<(String, String)>,
}

/// The lists of an upload normalised and deduplicated, with the rewrites to report; 400 when a
/// feed is in both (as sent or once normalised). Shared with the Nextcloud route.
pub fn checked(add: &[String], remove: &[String]) -> Result<Checked, GpodderError> {
    let mut update_urls = Vec::new();
    let add_feeds = normalise_all(add, &mut update_urls);
    let remove_feeds = normalise_all(remove, &mut update_urls);
    let added: BTreeSet<&str> = add_feeds.iter().map(FeedUrl::as_str).collect();
    let sent: BTreeSet<&str> = add.iter().map(String::as_str).collect();
    let conflict = remove.iter().any(|url| sent.contains(url.as_str()))
        || remove_feeds
            .iter()
            .any(|feed| added.contains(feed.as_str()));
    if conflict {
        return Err(GpodderError::bad_request(
            "conflicting_changes",
            "a feed is both added and removed",
        ));
    }
    Ok(Checked {
        add: dedup(add_feeds),
        remove: dedup(remove_feeds),
        update_urls,
    })
}

/// Each feed once, in the order first sent.
pub fn dedup(feeds: Vec<FeedUrl>) -> Vec<FeedUrl> {
    let mut seen = BTreeSet::new();
    feeds
        .into_iter()
        .filter(|f| seen.insert(f.as_str().to_owned()))
        .collect()
}
