//! Every upload the server did not take, as the original reported it: `{type, local, remote,
//! resolution, reason}`. The server's side stood (`resolution: "remote"`) because it was newer
//! (`newer_on_server`), because the rules break a tie its way (`same_time`: a tie keeps a
//! subscription; a reset, then played, then the larger position win at the same time), or because
//! the upload would exceed a per-user limit (`limit_exceeded`). Playlists have their own choice
//! ([`playlists`]): their read models hold no times, so it is told by the limits, `last_sync`
//! (`changed_on_server_since_last_sync`) and what the merge compares.

use super::reads::{Play, Sub};
use balados_schemas::{SyncPlay, SyncSubscription};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::cmp::Ordering;
use std::collections::HashMap;

mod playlists;

pub use playlists::playlists;

fn conflict(kind: &str, local: Value, remote: Value, reason: &str) -> Value {
    json!({
        "type": kind,
        "local": local,
        "remote": remote,
        "resolution": "remote",
        "reason": reason,
    })
}

fn reason(server: Option<DateTime<Utc>>, client: Option<DateTime<Utc>>) -> &'static str {
    match server.cmp(&client) {
        Ordering::Greater => "newer_on_server",
        Ordering::Equal => "same_time",
        Ordering::Less => "limit_exceeded",
    }
}

pub fn subscriptions(uploads: &[SyncSubscription], rows: &HashMap<&str, &Sub>) -> Vec<Value> {
    let mut out = Vec::new();
    for s in uploads {
        let subscribed = match (s.subscribed_at, s.unsubscribed_at) {
            (_, Some(u)) if s.subscribed_at.is_none_or(|t| u > t) => false,
            (Some(_), _) => true,
            (None, _) => continue,
        };
        let id = s.feed.id();
        let row = rows.get(id.as_str());
        if row.is_some_and(|r| r.active()) == subscribed {
            continue;
        }
        let client = s.subscribed_at.max(s.unsubscribed_at);
        let server = row.and_then(|r| r.subscribed_at.max(r.unsubscribed_at));
        let local = json!({
            "rss_source_feed": id,
            "subscribed_at": s.subscribed_at,
            "unsubscribed_at": s.unsubscribed_at,
            "subscribed": subscribed,
        });
        let remote = row.map_or(Value::Null, |r| r.to_json());
        out.push(conflict(
            "subscription",
            local,
            remote,
            reason(server, client),
        ));
    }
    out
}

pub fn plays(uploads: &[SyncPlay], rows: &HashMap<&str, &Play>) -> Vec<Value> {
    let mut out = Vec::new();
    for p in uploads {
        let id = p.item.id();
        let row = rows.get(id.as_str());
        // What the upload would have made of the status: a reset is unplayed at 0, a position
        // beyond the duration is clamped.
        let duration = (p.duration.map(|d| d.get())).or(row.and_then(|r| r.duration.map(clamp)));
        let position = duration.map_or(p.position.get(), |d| p.position.get().min(d));
        let wanted = if p.reset {
            (false, 0)
        } else {
            (p.played, position)
        };
        if row.is_some_and(|r| (r.played, clamp(r.position)) == wanted) {
            continue;
        }
        let local = json!({
            "rss_source_feed": p.feed.id(),
            "rss_source_item": id,
            "position": p.position.get(),
            "duration": p.duration.map(|d| d.get()),
            "played": p.played,
            "updated_at": p.updated_at,
            "reset": p.reset,
        });
        let remote = row.map_or(Value::Null, |r| r.to_json());
        let server = row.and_then(|r| r.updated_at);
        out.push(conflict(
            "play",
            local,
            remote,
            reason(server, Some(p.updated_at)),
        ));
    }
    out
}

fn clamp(raw: i64) -> u64 {
    u64::try_from(raw).unwrap_or(0)
}
