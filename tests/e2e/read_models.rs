//! The per-user read models beyond subscriptions: play statuses (with saved episodes) and privacy
//! settings, written through the API and read back from the query API, with their filters, paging
//! and parameter errors.

use crate::helpers::{Stack, eventually, feed_id, token};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use std::time::Duration;

fn item_id(n: u32) -> String {
    URL_SAFE_NO_PAD.encode(format!("rm-{n},https://cdn.example.com/rm/{n}.mp3"))
}

async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.expect("reachable");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plays_and_privacy_are_read_back_with_filters_and_paging() {
    let stack = Stack::start(true).await;
    let url = stack.server().url.clone();
    let http = reqwest::Client::new();
    let auth = token("read-models", 600);
    let (f1, f2) = (
        feed_id("https://feeds.example.com/rm1.xml"),
        feed_id("https://feeds.example.com/rm2.xml"),
    );
    let write = |method: reqwest::Method, path: &str, body: Value| {
        http.request(method, format!("{url}/api/v1{path}"))
            .bearer_auth(&auth)
            .header("Prefer", "wait=10")
            .json(&body)
    };
    // Five plays: 1-3 on feed 1 (3 played), 4-5 on feed 2; then a position and a save.
    for n in 1..=5u32 {
        let feed = if n <= 3 { &f1 } else { &f2 };
        let body = json!({"rss_source_feed": feed, "rss_source_item": item_id(n),
                          "position": 10 * n, "duration": 600, "played": n == 3});
        let (status, answer) = send(write(reqwest::Method::POST, "/play", body)).await;
        assert_eq!(status, 200, "{answer}");
    }
    let (status, answer) = send(write(
        reqwest::Method::PUT,
        &format!("/play/{}/position", item_id(1)),
        json!({"position": 99}),
    ))
    .await;
    assert_eq!(status, 200, "{answer}");
    let (status, _) = send(write(
        reqwest::Method::POST,
        &format!("/episodes/{}/save", item_id(2)),
        json!({"rss_source_feed": f1}),
    ))
    .await;
    assert_eq!(status, 200);
    for body in [
        json!({"privacy": "anonymous"}),
        json!({"privacy": "private", "feed": f2}),
    ] {
        let (status, answer) = send(write(reqwest::Method::PUT, "/privacy", body)).await;
        assert_eq!(status, 200, "{answer}");
    }

    // Privacy was written last: once it shows, the user's earlier events are materialized too
    // (one partition per user, applied in order).
    let privacy = eventually(Duration::from_secs(20), "two privacy settings", || async {
        let request = http.get(format!("{url}/api/v1/privacy")).bearer_auth(&auth);
        let (status, body) = send(request).await;
        (status == 200 && body["privacy_settings"].as_array().map(Vec::len) == Some(2))
            .then_some(body)
    })
    .await;
    let read = |query: String| {
        let request = http
            .get(format!("{url}/api/v1/play{query}"))
            .bearer_auth(&auth);
        async move { send(request).await }
    };
    let (status, all) = read(String::new()).await;
    assert_eq!(
        (status, &all["pagination"]["total"]),
        (200, &json!(5)),
        "{all}"
    );
    let statuses = all["play_statuses"].as_array().expect("array");
    let first = &statuses[0];
    assert_eq!(
        (
            first["rss_source_item"].as_str(),
            first["position"].as_i64()
        ),
        (Some(item_id(1).as_str()), Some(99)),
        "newest first: the position update is the latest change: {all}"
    );
    let saved: Vec<&Value> = statuses
        .iter()
        .filter(|s| !s["saved_at"].is_null())
        .collect();
    assert_eq!(saved.len(), 1, "{all}");
    assert_eq!(saved[0]["rss_source_item"], item_id(2));

    let (_, played) = read("?played=true".into()).await;
    assert_eq!(played["pagination"]["total"], 1, "{played}");
    let (_, feed2) = read(format!("?feed={f2}")).await;
    assert_eq!(feed2["pagination"]["total"], 2, "{feed2}");
    let (_, page) = read("?limit=2&offset=4".into()).await;
    assert_eq!(
        page["play_statuses"].as_array().map(Vec::len),
        Some(1),
        "{page}"
    );
    assert_eq!(
        page["pagination"],
        json!({"limit": 2, "offset": 4, "total": 5, "next_cursor": null}),
        "the last page has no next cursor"
    );
    // Cursor paging walks the same order as one big page, without repeats or holes.
    let mut walked = Vec::new();
    let mut query = "?limit=2".to_owned();
    loop {
        let (status, page) = read(query.clone()).await;
        assert_eq!(status, 200, "{page}");
        for status in page["play_statuses"].as_array().expect("array") {
            walked.push(status["rss_source_item"].clone());
        }
        match page["pagination"]["next_cursor"].as_str() {
            Some(cursor) => query = format!("?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    let everything: Vec<Value> = statuses
        .iter()
        .map(|s| s["rss_source_item"].clone())
        .collect();
    assert_eq!(walked, everything);
    for (query, code) in [
        ("?cursor=%25%25", "invalid_cursor"),
        ("?cursor=MTIzLGE&offset=1", "invalid_paging"),
        ("?limit=101", "invalid_limit"),
        ("?limit=0", "invalid_limit"),
        ("?offset=-1", "invalid_offset"),
        ("?played=yes", "invalid_boolean"),
        ("?feed=%25%25", "invalid_feed_id"),
    ] {
        let (status, body) = read(query.into()).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (422, Some(code)),
            "{query}: {body}"
        );
    }

    let settings: Vec<(String, String, String)> = privacy["privacy_settings"]
        .as_array()
        .expect("array")
        .iter()
        .map(|s| {
            let field = |k: &str| s[k].as_str().expect("string").to_owned();
            (field("scope"), field("scope_id"), field("privacy"))
        })
        .collect();
    assert_eq!(
        settings,
        vec![
            ("global".into(), String::new(), "anonymous".into()),
            ("feed".into(), f2.clone(), "private".into()),
        ],
        "{privacy}"
    );
    let other = send(
        http.get(format!("{url}/api/v1/play"))
            .bearer_auth(token("someone-else", 600)),
    )
    .await;
    assert_eq!(
        other.1["pagination"]["total"], 0,
        "a user sees only their own"
    );
}
