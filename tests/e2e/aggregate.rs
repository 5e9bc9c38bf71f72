//! Every write route of the aggregate, through `Prefer: wait`: the happy path and the rejections
//! decided by the aggregator (404/409/422 with their stable codes), idempotent retries, the
//! default collection's rules, per-item answers of a batch, and state that survives a restart.

use crate::helpers::{Api, Stack, feed_id};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

fn item_id(n: u32) -> String {
    URL_SAFE_NO_PAD.encode(format!("guid-{n},https://cdn.example.com/{n}.mp3"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plays_saves_shares_privacy_and_devices() {
    let stack = Stack::start(true).await;
    let api = Api::new(&stack.server().url, "ada");
    let feed = feed_id("https://feeds.example.com/plays.xml");
    let (i1, i2) = (item_id(1), item_id(2));
    let play = |item: &str, position: i64| json!({"rss_source_feed": feed, "rss_source_item": item, "position": position, "duration": 600});

    // A play may be a user's first command.
    let first = api.ok("POST", "/play", Some(play(&i1, 30)), 1).await;
    assert_eq!(first["clamped"], false, "{first}");
    // A client clock an hour ahead: the reception time is used, and the outcome says so.
    let mut ahead = play(&item_id(9), 5);
    ahead["timestamp"] = json!((chrono::Utc::now() + chrono::TimeDelta::hours(1)).to_rfc3339());
    let clamped = api.ok("POST", "/play", Some(ahead), 1).await;
    assert_eq!(clamped["clamped"], true, "{clamped}");
    let mut bad_time = play(&item_id(9), 5);
    bad_time["timestamp"] = json!("yesterday");
    api.rejected("POST", "/play", Some(bad_time), 422, "invalid_timestamp")
        .await;
    api.rejected(
        "POST",
        "/play",
        Some(play(&i1, -1)),
        422,
        "invalid_position",
    )
    .await;
    api.rejected(
        "POST",
        "/play",
        Some(play(&i1, 601)),
        422,
        "invalid_position",
    )
    .await;
    api.rejected("POST", "/play", Some(play("%%", 1)), 422, "invalid_item_id")
        .await;
    let position = |p: i64| Some(json!({ "position": p }));
    api.ok("PUT", &format!("/play/{i1}/position"), position(42), 1)
        .await;
    // The same position later still counts: it moves the play status's time forward.
    api.ok("PUT", &format!("/play/{i1}/position"), position(42), 1)
        .await;
    api.rejected(
        "PUT",
        &format!("/play/{i1}/position"),
        position(900),
        422,
        "invalid_position",
    )
    .await;
    api.rejected(
        "PUT",
        &format!("/play/{i2}/position"),
        position(1),
        404,
        "not_found",
    )
    .await;

    let episode_feed = Some(json!({ "rss_source_feed": feed }));
    api.ok(
        "POST",
        &format!("/episodes/{i2}/save"),
        episode_feed.clone(),
        1,
    )
    .await;
    api.ok(
        "POST",
        &format!("/episodes/{i2}/save"),
        episode_feed.clone(),
        0,
    )
    .await;
    api.ok("DELETE", &format!("/episodes/{i2}/save"), None, 1)
        .await;
    api.ok("POST", &format!("/episodes/{i2}/share"), episode_feed, 1)
        .await;

    api.ok("PUT", "/privacy", Some(json!({"privacy": "anonymous"})), 1)
        .await;
    api.ok(
        "PUT",
        "/privacy",
        Some(json!({"privacy": "private", "feed": feed})),
        1,
    )
    .await;
    api.ok(
        "PUT",
        "/privacy",
        Some(json!({"privacy": "public", "item": i1})),
        1,
    )
    .await;
    api.ok(
        "PUT",
        "/privacy",
        Some(json!({"privacy": "public", "item": i1})),
        0,
    )
    .await;
    api.rejected(
        "PUT",
        "/privacy",
        Some(json!({"privacy": "friends"})),
        422,
        "invalid_privacy",
    )
    .await;
    api.ok("DELETE", &format!("/events?feed={feed}"), None, 1)
        .await;

    api.ok(
        "PUT",
        "/devices/phone.1",
        Some(json!({"caption": "Phone", "type": "mobile"})),
        1,
    )
    .await;
    api.ok(
        "PUT",
        "/devices/phone.1",
        Some(json!({"type": "mobile"})),
        0,
    )
    .await;
    api.rejected(
        "PUT",
        "/devices/phone.1",
        Some(json!({"type": "toaster"})),
        422,
        "invalid_device_kind",
    )
    .await;

    // A batch: each play answered on its own.
    let batch =
        json!({"plays": [play(&item_id(3), 10), {"rss_source_feed": feed}, play(&item_id(4), -5)]});
    let (status, answer) = api
        .call_with("POST", "/play/batch", Some(batch.clone()), Some("batch-1"))
        .await;
    assert_eq!(status, 200, "{answer}");
    let results = answer["results"].as_array().expect("results");
    let summary: Vec<(u64, Option<&str>, Option<&str>)> = results
        .iter()
        .map(|r| {
            (
                r["http_status"].as_u64().expect("status"),
                r["status"].as_str(),
                r["code"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (200, Some("accepted"), None),
            (422, Some("invalid"), Some("invalid_play")),
            (422, Some("invalid"), Some("invalid_position")),
        ],
        "{answer}"
    );
    let (_, again) = api
        .call_with("POST", "/play/batch", Some(batch), Some("batch-1"))
        .await;
    assert_eq!(again["results"][0]["command_id"], results[0]["command_id"]);
    assert_eq!(
        again["results"][0]["duplicate"], true,
        "a retried batch is applied once: {again}"
    );

    let too_many: Vec<Value> = (0..1001).map(|n| play(&item_id(n), 1)).collect();
    api.rejected(
        "POST",
        "/play/batch",
        Some(json!({ "plays": too_many })),
        422,
        "batch_too_large",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn playlists_collections_and_the_default_collection() {
    let mut stack = Stack::start(true).await;
    let api = Api::new(&stack.server().url, "bea");
    let (f1, f2) = (
        feed_id("https://feeds.example.com/c1.xml"),
        feed_id("https://feeds.example.com/c2.xml"),
    );
    let (i1, i2) = (item_id(1), item_id(2));

    // Playlists.
    let created = api
        .http
        .post(format!("{}/api/v1/playlists", api.url))
        .bearer_auth(&api.auth)
        .header("Prefer", "wait=10")
        .json(&json!({"name": "Road"}))
        .send()
        .await
        .expect("reachable");
    let location = created
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .map(str::to_owned);
    assert_eq!(created.status().as_u16(), 201);
    assert!(
        location
            .as_deref()
            .is_some_and(|l| l.starts_with("/api/v1/playlists/") && l.len() > 18),
        "an id is derived when the client gives none, and named: {location:?}"
    );
    api.rejected(
        "POST",
        "/playlists",
        Some(json!({"id": "p1", "name": "  "})),
        422,
        "invalid_name",
    )
    .await;
    api.ok(
        "POST",
        "/playlists",
        Some(json!({"id": "p1", "name": "Mine"})),
        1,
    )
    .await;
    api.rejected(
        "POST",
        "/playlists",
        Some(json!({"id": "p1", "name": "Again"})),
        409,
        "already_exists",
    )
    .await;
    api.ok(
        "PATCH",
        "/playlists/p1",
        Some(json!({"public": true, "name": "Ours"})),
        2,
    )
    .await;
    api.rejected(
        "PATCH",
        "/playlists/nope",
        Some(json!({"public": true})),
        404,
        "not_found",
    )
    .await;
    for item in [&i1, &i2] {
        let body = json!({"rss_source_feed": f1, "rss_source_item": item});
        api.ok("POST", "/playlists/p1/items", Some(body), 1).await;
    }
    api.rejected(
        "PUT",
        "/playlists/p1/order",
        Some(json!({"items": [i2]})),
        422,
        "invalid_order",
    )
    .await;
    api.ok(
        "PUT",
        "/playlists/p1/order",
        Some(json!({"items": [i2, i1]})),
        1,
    )
    .await;
    api.ok("DELETE", &format!("/playlists/p1/items/{i1}"), None, 1)
        .await;

    // Collections, and the default one created with the first subscription.
    api.rejected("DELETE", "/collections/default", None, 404, "not_found")
        .await;
    let sub = |feed: &str| Some(json!({ "rss_source_feed": feed }));
    api.ok("POST", "/subscriptions", sub(&f1), 3).await;
    api.rejected(
        "DELETE",
        "/collections/default",
        None,
        409,
        "cannot_delete_default_collection",
    )
    .await;
    api.rejected(
        "POST",
        "/collections",
        Some(json!({"id": "default", "title": "x"})),
        422,
        "invalid_id",
    )
    .await;
    let news = Some(json!({"id": "news", "title": "News"}));
    let (status, first) = api
        .call_with("POST", "/collections", news.clone(), Some("news-1"))
        .await;
    assert_eq!(status, 201, "{first}");
    let (status, retry) = api
        .call_with("POST", "/collections", news, Some("news-1"))
        .await;
    assert_eq!(
        (status, &retry["command_id"]),
        (200, &first["command_id"]),
        "{retry}"
    );
    assert_eq!(retry["duplicate"], true, "{retry}");
    api.rejected(
        "POST",
        "/collections/news/feeds",
        sub(&f2),
        422,
        "feed_not_subscribed",
    )
    .await;
    api.ok("POST", "/collections/news/feeds", sub(&f1), 1).await;
    api.ok("POST", "/subscriptions", sub(&f2), 2).await;
    api.ok("POST", "/collections/news/feeds", sub(&f2), 1).await;
    let to = |p: i64| Some(json!({ "position": p }));
    api.rejected(
        "PUT",
        &format!("/collections/news/feeds/{f1}/position"),
        to(2),
        422,
        "position_out_of_bounds",
    )
    .await;
    api.ok(
        "PUT",
        &format!("/collections/news/feeds/{f1}/position"),
        to(1),
        1,
    )
    .await;
    api.rejected(
        "PATCH",
        "/collections/news",
        Some(json!({"title": ""})),
        422,
        "invalid_title",
    )
    .await;
    let rename = Some(json!({"title": "World", "public": true}));
    api.ok("PATCH", "/collections/news", rename, 2).await;
    api.rejected(
        "PATCH",
        "/collections/nope",
        Some(json!({"public": true})),
        404,
        "not_found",
    )
    .await;
    api.ok("DELETE", &format!("/collections/news/feeds/{f1}"), None, 1)
        .await;

    // The state survives a restart (restored from user-state, tombstones included).
    stack.server.take().expect("running").kill();
    stack.start_server(&[]).await;
    let api = Api::new(&stack.server().url, "bea");
    api.ok(
        "PUT",
        "/playlists/p1/order",
        Some(json!({"items": [i2]})),
        0,
    )
    .await;
    api.ok("DELETE", &format!("/playlists/p1/items/{i1}"), None, 0)
        .await;
    api.rejected(
        "DELETE",
        "/collections/default",
        None,
        409,
        "cannot_delete_default_collection",
    )
    .await;
    api.ok("DELETE", "/collections/news", None, 1).await;
    api.rejected("DELETE", "/collections/news", None, 404, "not_found")
        .await;
    api.ok("DELETE", "/playlists/p1", None, 1).await;
    api.rejected(
        "POST",
        "/playlists/p1/items",
        Some(json!({"rss_source_feed": f1, "rss_source_item": i1})),
        404,
        "not_found",
    )
    .await;
}
