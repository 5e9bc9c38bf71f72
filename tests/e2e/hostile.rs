//! A hostile user, with an ordinary token and no special access, sends in one run every input
//! that once stopped or corrupted the service, the largest legal value of every field, replayed
//! plays and a flood of writes, while ordinary users keep writing and reading (one of them without
//! pause throughout). Every ordinary write is decided (within `Prefer: wait`) and visible; each
//! hostile input gets its 4xx (429 for the flood), or is accepted within its bounds and lands
//! whole; nothing reaches PostgreSQL's quarantine; the service still answers its health checks.

use crate::helpers::{Api, Stack, feed_id};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures::StreamExt as _;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

const MAX_URL: usize = balados_schemas::ids::MAX_FEED_URL_LEN;

/// A URL of exactly `len` bytes.
fn url_of(len: usize, tag: &str) -> String {
    let head = format!("https://hostile.example.com/{tag}/");
    // Not hex: a long hex segment looks like a key, and such feeds are never published.
    format!("{head}{}", "x".repeat(len - head.len()))
}

fn item_id(guid: &str, url: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{guid},{url}"))
}

/// The ordinary user writes one subscription and reads it back, consistent with the write.
async fn ordinary_round(alice: &Api, round: usize) {
    let feed = feed_id(&format!("https://ordinary.example.com/{round}.xml"));
    let (status, answer) = alice
        .call(
            "POST",
            "/subscriptions",
            Some(json!({ "rss_source_feed": feed })),
        )
        .await;
    assert!(
        matches!(status, 200 | 201),
        "round {round}: {status} {answer}"
    );
    let token = answer["consistency_token"].as_str().expect("a token");
    let (status, list) = alice.read("/subscriptions", Some(token)).await;
    assert_eq!(status, 200, "round {round}: {list}");
    assert!(
        list.to_string().contains(&feed),
        "round {round}: the write is visible: {list}"
    );
}

/// Expects `status` and `code`, and an answer that does not echo what was sent.
async fn refused(api: &Api, method: &str, path: &str, body: Value, status: u16, code: &str) {
    let (got, answer) = api.call(method, path, Some(body)).await;
    assert_eq!(
        (got, answer["code"].as_str()),
        (status, Some(code)),
        "{method} {path}: {answer}"
    );
    assert!(answer.to_string().len() < 1_000, "a bounded answer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_user_cannot_stop_slow_or_corrupt_an_ordinary_one() {
    let stack = Stack::start(true).await;
    let url = stack.server().url.clone();
    let alice = Api::new(&url, "alice");
    let mallory = Api::new(&url, "mallory");
    ordinary_round(&alice, 0).await;
    // Meanwhile, another ordinary user writes and reads back without pause, every write decided.
    let stop = Arc::new(AtomicBool::new(false));
    let bob = {
        let (url, stop) = (url.clone(), stop.clone());
        tokio::spawn(async move {
            let bob = Api::new(&url, "bob");
            let mut rounds = 0;
            while !stop.load(Ordering::SeqCst) {
                ordinary_round(&bob, 1_000 + rounds).await;
                rounds += 1;
            }
            rounds
        })
    };

    // Values that once made records the broker or PostgreSQL refused, refused at the edge.
    let huge = "x".repeat(200_000);
    refused(
        &mallory,
        "PUT",
        "/privacy",
        json!({ "privacy": huge }),
        422,
        "invalid_privacy",
    )
    .await;
    let too_long = feed_id(&url_of(MAX_URL + 1, "feed"));
    refused(
        &mallory,
        "POST",
        "/subscriptions",
        json!({ "rss_source_feed": too_long }),
        422,
        "invalid_feed_url",
    )
    .await;
    refused(
        &mallory,
        "POST",
        "/playlists",
        json!({ "name": "n", "description": "a\u{0}b" }),
        422,
        "invalid_description",
    )
    .await;
    refused(
        &mallory,
        "POST",
        "/playlists",
        json!({ "name": "x".repeat(201) }),
        422,
        "invalid_name",
    )
    .await;
    refused(
        &mallory,
        "POST",
        "/collections",
        json!({ "title": "a\nb" }),
        422,
        "invalid_title",
    )
    .await;
    refused(
        &mallory,
        "PUT",
        &format!("/devices/{}", "d".repeat(65)),
        json!({}),
        422,
        "invalid_device_id",
    )
    .await;
    let feed = feed_id(&url_of(MAX_URL, "feed"));
    let guid = "g".repeat(500);
    let enclosure = url_of(MAX_URL, "ep");
    let item = item_id(&guid, &enclosure);
    let play = |extra: Value| {
        let mut body = json!({ "rss_source_feed": feed, "rss_source_item": item, "position": 1 });
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        body
    };
    refused(
        &mallory,
        "POST",
        "/play",
        play(json!({ "position": 2_147_483_648_i64 })),
        422,
        "invalid_position",
    )
    .await;
    refused(
        &mallory,
        "POST",
        "/play",
        play(json!({ "timestamp": "0001-01-01T00:00:00Z" })),
        422,
        "invalid_timestamp",
    )
    .await;
    ordinary_round(&alice, 1).await;

    // A read that asks to wait, without credentials, is refused at once.
    let anonymous = reqwest::Client::new()
        .get(format!("{url}/api/v1/play"))
        .header("X-Consistency-Token", "v1.0.999999999")
        .send()
        .await
        .expect("reachable");
    assert_eq!(anonymous.status(), 401);
    // Malformed public cursors and offsets are 422, never 503.
    for query in [
        "cursor=%%%",
        "cursor=AAAA",
        "offset=-1",
        "offset=99999999999",
    ] {
        let response = reqwest::get(format!("{url}/api/v1/public/timeline?{query}"))
            .await
            .expect("reachable");
        assert_eq!(response.status(), 422, "{query}");
    }

    // The largest legal value of every field is accepted and lands whole.
    let source = "s".repeat(512);
    let (status, _) = mallory
        .call(
            "POST",
            "/subscriptions",
            Some(json!({ "rss_source_feed": feed, "rss_source_id": source })),
        )
        .await;
    assert!(
        matches!(status, 200 | 201),
        "largest subscription: {status}"
    );
    let longest = json!({ "duration": 2_147_483_647_i64, "position": 2_147_483_647_i64, "timestamp": "2026-01-01T00:00:00Z" });
    let (status, answer) = mallory.call("POST", "/play", Some(play(longest))).await;
    assert_eq!(status, 200, "largest play: {answer}");
    let wide = |n: usize| "𝄞".repeat(n);
    let playlist = "p".repeat(64);
    let (status, answer) = mallory
        .call(
            "POST",
            "/playlists",
            Some(json!({ "id": playlist, "name": wide(200), "description": format!("{}\n", wide(1_999)) })),
        )
        .await;
    assert_eq!(status, 201, "largest playlist: {answer}");
    let (status, answer) = mallory
        .call(
            "POST",
            &format!("/playlists/{playlist}/items"),
            Some(json!({ "rss_source_feed": feed, "rss_source_item": item })),
        )
        .await;
    assert!(
        matches!(status, 200 | 201),
        "largest item: {status} {answer}"
    );
    let (status, answer) = mallory
        .call(
            "PUT",
            &format!("/devices/{}", "d.".repeat(32)),
            Some(json!({ "caption": wide(200), "type": "server" })),
        )
        .await;
    assert_eq!(status, 200, "largest device: {answer}");
    // A feed whose URL carries a secret: accepted, never published.
    let secret_feed = feed_id("https://private.example.com/feed.xml?token=S3CR3T-hostile");
    let (status, answer) = mallory
        .call(
            "POST",
            "/subscriptions",
            Some(json!({ "rss_source_feed": secret_feed })),
        )
        .await;
    assert!(matches!(status, 200 | 201), "{answer}");
    let token = answer["consistency_token"]
        .as_str()
        .expect("a token")
        .to_owned();
    ordinary_round(&alice, 2).await;

    let (status, answer) = mallory
        .read(&format!("/playlists/{playlist}"), Some(&token))
        .await;
    assert_eq!(status, 200);
    let chars = |field: &str| {
        answer["playlist"][field]
            .as_str()
            .map(|t| t.chars().count())
    };
    assert_eq!(chars("name"), Some(200), "the largest name lands whole");
    assert_eq!(
        chars("description"),
        Some(1_999),
        "the largest description, trimmed"
    );
    let (status, plays) = mallory.read("/play", Some(&token)).await;
    assert_eq!(status, 200);
    let plays = plays.to_string();
    assert!(
        plays.contains(&guid) && plays.contains(&enclosure),
        "the largest play is visible"
    );
    let (_, subscriptions) = mallory.read("/subscriptions", Some(&token)).await;
    assert!(
        subscriptions.to_string().contains(&source),
        "the largest source id is visible"
    );
    let timeline = reqwest::get(format!("{url}/api/v1/public/timeline?limit=100"))
        .await
        .expect("reachable")
        .text()
        .await
        .expect("body");
    assert!(
        timeline.contains("mallory"),
        "mallory's public events are there"
    );
    assert!(
        !timeline.contains("S3CR3T"),
        "a feed with a secret is never published"
    );

    // Replaying plays does not inflate trending: one user's repeats count once a day.
    let replayed_feed = feed_id("https://replayed.example.com/feed.xml");
    let replayed = item_id("replayed-1", "https://replayed.example.com/1.mp3");
    let mut last = String::new();
    for _ in 0..10 {
        let body =
            json!({ "rss_source_feed": replayed_feed, "rss_source_item": replayed, "position": 5 });
        let (status, answer) = mallory.call("POST", "/play", Some(body)).await;
        assert_eq!(status, 200, "{answer}");
        last = answer["consistency_token"]
            .as_str()
            .expect("a token")
            .to_owned();
    }
    let (status, _) = mallory.read("/play", Some(&last)).await;
    assert_eq!(status, 200);
    let trending: Value = reqwest::get(format!("{url}/api/v1/public/trending/episodes?period=day"))
        .await
        .expect("reachable")
        .json()
        .await
        .expect("json");
    let entry = trending["episodes"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["rss_source_item"] == replayed.as_str()))
        .unwrap_or_else(|| panic!("the replayed episode trends: {trending}"));
    assert_eq!(
        (entry["plays"].as_i64(), entry["score"].as_i64()),
        (Some(1), Some(5)),
        "{entry}"
    );

    // Nothing was set aside by PostgreSQL, and the service is healthy.
    let db = sqlx::PgPool::connect(&stack.database_url)
        .await
        .expect("db");
    let (quarantined,): (i64,) = sqlx::query_as("SELECT count(*) FROM materializer.quarantine")
        .fetch_one(&db)
        .await
        .expect("count");
    assert_eq!(quarantined, 0);
    for path in ["/healthz", "/readyz"] {
        let health = reqwest::get(format!("{url}{path}"))
            .await
            .expect("reachable");
        assert_eq!(health.status(), 200, "{path}");
    }
    ordinary_round(&alice, 3).await;

    // A flood of writes: the hostile user is held to their rate (429 with Retry-After), the
    // ordinary users are not.
    let flood: Vec<u16> = futures::stream::iter(0..400)
        .map(|n| {
            let mallory = &mallory;
            async move {
                let body = json!({ "rss_source_feed": feed_id(&format!("https://flood.example.com/{n}.xml")) });
                mallory
                    .http
                    .post(format!("{}/api/v1/subscriptions", mallory.url))
                    .bearer_auth(&mallory.auth)
                    .json(&body)
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0)
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let limited = flood.iter().filter(|s| **s == 429).count();
    assert!(limited >= 100, "the flood is limited: {limited} of 400");
    assert!(flood.iter().all(|s| matches!(s, 202 | 429)), "{flood:?}");
    ordinary_round(&alice, 4).await;
    stop.store(true, Ordering::SeqCst);
    let rounds = bob.await.expect("the ordinary user's loop");
    assert!(rounds > 0, "the ordinary user wrote throughout");
}
