//! `POST /api/v1/sync` through the whole pipeline: two devices of one user sync, the newer side
//! wins on each entity, what the server did not take comes back as a conflict with its reason,
//! each answer lists what changed since the device's last sync and a new token, a repeated sync
//! changes nothing, a playlist rename that lost to a newer one is reported as such though made
//! after the last sync, and a sync too large is refused before anything is produced.

mod paging;

use crate::helpers::{Api, Stack, feed_id};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};

fn item(n: u32) -> String {
    URL_SAFE_NO_PAD.encode(format!("sync-{n},https://cdn.example.com/sync/{n}.mp3"))
}

/// A time `secs` before now, as clients send it.
fn ago(secs: i64) -> String {
    (Utc::now() - TimeDelta::seconds(secs)).to_rfc3339()
}

async fn sync(api: &Api, body: Value) -> Value {
    let (status, answer) = api.call("POST", "/sync", Some(body)).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer["sync_token"].is_string(), "{answer}");
    answer
}

/// The position part of an answer's `sync_token` (`{position}.{time}`).
fn position(answer: &Value) -> &str {
    let token = answer["sync_token"].as_str().expect("a token");
    token.split_once('.').map_or(token, |(p, _)| p)
}

/// The entries of `list` whose `key` is `value`.
fn with<'a>(list: &'a Value, key: &str, value: &str) -> Vec<&'a Value> {
    (list.as_array().expect("a list").iter())
        .filter(|e| e[key] == value)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_devices_sync_and_the_newer_side_wins_with_every_conflict_reported() {
    let stack = Stack::start(true).await;
    let api = Api::new(&stack.server().url, "sync-user");
    let (f1, f2) = (
        feed_id("https://feeds.example.com/sync-1.xml"),
        feed_id("https://feeds.example.com/sync-2.xml"),
    );

    // Device A, first sync: two feeds, a position, a playlist of two episodes.
    let a1 = sync(
        &api,
        json!({
            "last_sync": null,
            "subscriptions": [
                {"rss_source_feed": f1, "subscribed_at": ago(100)},
                {"rss_source_feed": f2, "subscribed_at": ago(100)},
            ],
            "play_statuses": [{"rss_source_feed": f1, "rss_source_item": item(1),
                "position": 100, "duration": 600, "played": false, "updated_at": ago(50)}],
            "playlists": [{"id": "later", "name": "Later", "updated_at": ago(90), "items": [
                {"rss_source_feed": f1, "rss_source_item": item(1), "added_at": ago(90)},
                {"rss_source_feed": f1, "rss_source_item": item(2), "added_at": ago(90)},
            ]}],
        }),
    )
    .await;
    assert_eq!(a1["conflicts"], json!([]), "{a1}");
    assert_eq!(a1["more"], false, "a page holds it all: {a1}");
    assert_eq!(
        a1["changes"]["subscriptions"].as_array().map(Vec::len),
        Some(2),
        "{a1}"
    );
    assert_eq!(
        with(&a1["changes"]["plays"], "rss_source_item", &item(1))[0]["position"],
        100
    );

    // Device B, first sync: it unsubscribed from f2 later, holds an older position of episode
    // 1 (stale), played episode 2, and added episode 3 to the playlist.
    let b1 = sync(
        &api,
        json!({
            "subscriptions": [
                {"rss_source_feed": f2, "subscribed_at": ago(200), "unsubscribed_at": ago(10)},
            ],
            "play_statuses": [
                {"rss_source_feed": f1, "rss_source_item": item(1), "position": 30,
                 "duration": 600, "played": false, "updated_at": ago(80)},
                {"rss_source_feed": f1, "rss_source_item": item(2), "position": 600,
                 "duration": 600, "played": true, "updated_at": ago(20)},
            ],
            "playlists": [{"id": "later", "name": "Later", "updated_at": ago(5), "items": [
                {"rss_source_feed": f1, "rss_source_item": item(3), "added_at": ago(5)},
            ]}],
        }),
    )
    .await;
    let stale = with(&b1["conflicts"], "type", "play");
    assert_eq!(stale.len(), 1, "only the stale position: {b1}");
    assert_eq!(stale[0]["reason"], "newer_on_server", "{b1}");
    assert_eq!(stale[0]["resolution"], "remote");
    assert_eq!(
        stale[0]["remote"]["position"], 100,
        "the newer position stands"
    );
    // B learns everything (first sync): f1 subscribed, f2 now unsubscribed, the merged playlist.
    let subs = &b1["changes"]["subscriptions"];
    assert_eq!(
        with(subs, "rss_source_feed", &f1)[0]["subscribed"],
        true,
        "{b1}"
    );
    assert_eq!(
        with(subs, "rss_source_feed", &f2)[0]["subscribed"],
        false,
        "{b1}"
    );
    let later = with(&b1["changes"]["playlists"], "id", "later");
    let items: Vec<&Value> = later[0]["items"]
        .as_array()
        .expect("items")
        .iter()
        .collect();
    let ids: Vec<&str> = items
        .iter()
        .filter_map(|i| i["rss_source_item"].as_str())
        .collect();
    assert_eq!(ids, [item(1), item(2), item(3)], "{b1}");

    // Device A again, from its token, still holding f2 subscribed (older than B's unsubscribe).
    let a2 = sync(
        &api,
        json!({
            "last_sync": a1["sync_token"],
            "subscriptions": [{"rss_source_feed": f2, "subscribed_at": ago(100)}],
        }),
    )
    .await;
    let lost = with(&a2["conflicts"], "type", "subscription");
    assert_eq!(lost.len(), 1, "{a2}");
    assert_eq!(lost[0]["reason"], "newer_on_server", "{a2}");
    // What changed since A's last sync: f2 and episode 2; not episode 1 (B's upload was stale).
    let changes = &a2["changes"];
    assert_eq!(
        with(&changes["subscriptions"], "rss_source_feed", &f2).len(),
        1,
        "{a2}"
    );
    assert!(
        with(&changes["subscriptions"], "rss_source_feed", &f1).is_empty(),
        "{a2}"
    );
    assert_eq!(
        with(&changes["plays"], "rss_source_item", &item(2))[0]["played"],
        true
    );
    assert!(
        with(&changes["plays"], "rss_source_item", &item(1)).is_empty(),
        "{a2}"
    );

    // The same sync again changes nothing: the token's position stays (its time is this sync's),
    // the conflict is reported again.
    let a3 = sync(
        &api,
        json!({
            "last_sync": a2["sync_token"],
            "subscriptions": [{"rss_source_feed": f2, "subscribed_at": ago(100)}],
        }),
    )
    .await;
    assert_eq!(position(&a3), position(&a2), "{a3}");
    assert_eq!(a3["changes"]["subscriptions"], json!([]), "{a3}");
    assert_eq!(with(&a3["conflicts"], "type", "subscription").len(), 1);

    // A renames the playlist after its last sync, B renames it later still and syncs first: A's
    // rename, though made after its last sync, lost to a newer one (not to a limit).
    let now = Utc::now();
    let (by_a, by_b) = (
        now + TimeDelta::milliseconds(10),
        now + TimeDelta::milliseconds(20),
    );
    let rename = |name: &str, at: DateTime<Utc>| {
        let at = at.to_rfc3339();
        json!([{"id": "later", "name": name, "updated_at": at}])
    };
    let b2 = sync(
        &api,
        json!({"last_sync": b1["sync_token"], "playlists": rename("Soon", by_b)}),
    )
    .await;
    assert_eq!(b2["conflicts"], json!([]), "{b2}");
    let a4 = sync(
        &api,
        json!({"last_sync": a3["sync_token"], "playlists": rename("Later on", by_a)}),
    )
    .await;
    let lost = with(&a4["conflicts"], "type", "playlist");
    assert_eq!(lost.len(), 1, "{a4}");
    assert_eq!(lost[0]["reason"], "newer_on_server", "{a4}");
    assert_eq!(lost[0]["remote"]["name"], "Soon", "{a4}");

    // The ordinary read models say the same.
    let (status, page) = api.read("/subscriptions", None).await;
    assert_eq!(status, 200, "{page}");
    let active: Vec<&str> = (page["subscriptions"].as_array().expect("list").iter())
        .filter_map(|s| s["rss_source_feed"].as_str())
        .collect();
    assert_eq!(active, [f1.as_str()], "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_too_large_or_with_a_bad_token_is_refused_before_anything_is_produced() {
    let stack = Stack::start(true).await;
    let api = Api::new(&stack.server().url, "sync-bounds");
    let f = feed_id("https://feeds.example.com/sync-b.xml");
    let plays: Vec<Value> = (0..2_001)
        .map(|n| json!({"rss_source_feed": f, "rss_source_item": item(n), "updated_at": ago(1)}))
        .collect();
    let body = json!({"play_statuses": plays});
    api.rejected("POST", "/sync", Some(body), 422, "sync_too_large")
        .await;
    let body = json!({"last_sync": "yesterday"});
    api.rejected("POST", "/sync", Some(body), 422, "invalid_sync_token")
        .await;
    let body = json!({"subscriptions": [{"rss_source_feed": "%%", "subscribed_at": ago(1)}]});
    api.rejected("POST", "/sync", Some(body), 422, "invalid_feed_id")
        .await;
    // Nothing was produced: a first sync of nothing finds the user without any position.
    let empty = sync(&api, json!({})).await;
    assert_eq!(position(&empty), "0", "{empty}");
}
