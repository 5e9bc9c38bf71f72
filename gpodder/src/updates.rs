//! `GET /api/2/updates/{username}/{deviceid}.json?since=&include_actions=`: everything a device
//! should apply since a position, in one answer — the subscriptions added (as podcast objects)
//! and removed, and the episodes whose state changed, each with its `status` (`play` or `new`,
//! from its latest action) and, with `include_actions=true`, that action.
//!
//! `since` and `timestamp` are the same positions as the subscriptions' and the episode actions'
//! (see `subscriptions.rs`); the episodes come from the episode actions' download, so they are
//! paged the same way: a full page's `timestamp` says where the next call starts, and the
//! subscriptions changed after it come again then (a duplicate, never a loss).

use crate::GpodderState;
use crate::auth::Caller;
use crate::devices::{device_id, json_file};
use crate::episodes::{changes, since};
use crate::error::GpodderError;
use crate::favorites::EpisodeInfo;
use crate::toplist::Podcast;
use axum::Json;
use axum::extract::{Query, State};
use balados_platform::http::PathParams;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Deserialize)]
pub struct Params {
    #[serde(default)]
    since: Option<String>,
    #[serde(default)]
    include_actions: Option<String>,
}

/// An episode of the updates: its description and its status.
#[derive(Debug, Serialize)]
pub struct Episode {
    #[serde(flatten)]
    info: EpisodeInfo,
    status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    action: Option<Value>,
}

#[derive(Debug, Serialize)]
pub struct Updates {
    add: Vec<Podcast>,
    remove: Vec<String>,
    updates: Vec<Episode>,
    timestamp: i64,
}

/// `true`/`1`/`yes`, as clients write a boolean in a query.
fn flag(raw: Option<&str>) -> bool {
    matches!(
        raw.map(|r| r.trim().to_ascii_lowercase()).as_deref(),
        Some("true" | "1" | "yes")
    )
}

/// An episode of the updates from an episode action of the download.
fn episode(action: Value, include_action: bool) -> Episode {
    let text = |key: &str| {
        action
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let (url, podcast_url) = (text("episode"), text("podcast"));
    Episode {
        info: EpisodeInfo::of(url, podcast_url),
        status: text("action"),
        action: include_action.then_some(action),
    }
}

pub async fn updates(
    State(state): State<GpodderState>,
    caller: Caller,
    PathParams((username, file)): PathParams<(String, String)>,
    Query(params): Query<Params>,
) -> Result<Json<Updates>, GpodderError> {
    caller.owns(&username)?;
    device_id(json_file(&file)?)?;
    let since = since(params.since.as_deref())?;
    let include_actions = flag(params.include_actions.as_deref());
    // The episodes first: their answer fixes the position read up to (or the page's end).
    let actions = serde_json::to_value(changes(&state, &caller.user_id, since, None).await?)
        .map_err(|_| GpodderError::unavailable("cannot list the episodes"))?;
    let timestamp = actions
        .get("timestamp")
        .and_then(Value::as_i64)
        .unwrap_or(since);
    let updates = match actions.get("actions") {
        Some(Value::Array(list)) => list
            .iter()
            .cloned()
            .map(|a| episode(a, include_actions))
            .collect(),
        _ => Vec::new(),
    };
    let rows: Vec<(String, bool)> = sqlx::query_as(concat!(
        "SELECT feed_url, (",
        active!(),
        ") FROM users.subscriptions WHERE user_id = $1 AND ($2 <= 0 OR sync_position > $2) \
         ORDER BY feed_url"
    ))
    .bind(caller.user_id.as_str())
    .bind(since)
    .fetch_all(&state.readers)
    .await?;
    let (add, remove): (Vec<_>, Vec<_>) = rows.into_iter().partition(|(_, active)| *active);
    Ok(Json(Updates {
        // Subscriber counts are not ours to tell per user: 0.
        add: add
            .into_iter()
            .map(|(url, _)| Podcast::of_url(url, 0))
            .collect(),
        remove: remove.into_iter().map(|(url, _)| url).collect(),
        updates,
        timestamp,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_action_becomes_an_episode_with_its_status() {
        let action = serde_json::json!({
            "podcast": "http://a.example/rss", "episode": "http://a.example/1.mp3",
            "action": "play", "position": 10, "timestamp": "2026-11-30T10:00:00"
        });
        let plain = episode(action.clone(), false);
        let shown = serde_json::to_value(&plain).expect("serialises");
        assert_eq!(
            (shown["status"].as_str(), shown["url"].as_str()),
            (Some("play"), Some("http://a.example/1.mp3"))
        );
        assert!(plain.action.is_none());
        assert_eq!(episode(action.clone(), true).action, Some(action));
        assert!(flag(Some("True")) && flag(Some("1")) && !flag(Some("false")) && !flag(None));
    }
}
