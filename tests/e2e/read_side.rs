//! The read side through the whole pipeline: read-your-writes with the consistency token, the
//! playlist and collection models, every privacy transition at every level as the public timeline
//! shows it, and the popularity windows (both sides of an hour and of the grace period).

use crate::helpers::{Api, Stack, eventually, feed_id, topic_reader};
use balados_schemas::{Contract, PublicEvent, Topics};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, DurationRound as _, TimeDelta, Utc};
use rdkafka::message::Message as _;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

fn item_id(tag: &str, n: u32) -> String {
    URL_SAFE_NO_PAD.encode(format!("{tag}-{n},https://cdn.example.com/{tag}/{n}.mp3"))
}

fn token_of(answer: &Value) -> String {
    answer["consistency_token"]
        .as_str()
        .unwrap_or_else(|| panic!("an outcome with a consistency token: {answer}"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_with_the_token_see_the_write_and_lists_read_back_in_order() {
    let stack = Stack::start(true).await;
    let api = Api::new(&stack.server().url, "rw-lists");
    let (f1, f2) = (
        feed_id("https://feeds.example.com/rw1.xml"),
        feed_id("https://feeds.example.com/rw2.xml"),
    );
    // Each write is read back at once with its token: no polling, no sleeping.
    for n in 1..=15u32 {
        let body =
            json!({"rss_source_feed": f1, "rss_source_item": item_id("rw", n), "position": n});
        let answer = api.ok("POST", "/play", Some(body), 1).await;
        let (status, page) = api.read("/play?limit=1", Some(&token_of(&answer))).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(
            page["play_statuses"][0]["rss_source_item"],
            item_id("rw", n),
            "write {n} visible to the read that carries its token"
        );
    }
    // A token the materializer never reaches: the read waits the configured 5 s, then says so.
    let (status, late) = api.read("/play", Some("v1.0.999999999")).await;
    assert_eq!(
        (status, late["code"].as_str()),
        (503, Some("consistency_timeout")),
        "{late}"
    );
    // Without credentials, refused at once rather than after the wait.
    let anonymous = api
        .http
        .get(format!("{}/api/v1/play", api.url))
        .header("X-Consistency-Token", "v1.0.999999999")
        .send()
        .await
        .expect("reachable");
    assert_eq!(anonymous.status(), 401);
    let (status, bad) = api.read("/play", Some("v1.x.1")).await;
    assert_eq!(
        (status, bad["code"].as_str()),
        (422, Some("invalid_consistency_token"))
    );

    api.ok(
        "POST",
        "/playlists",
        Some(json!({"id": "road", "name": "Road", "description": "Trips"})),
        1,
    )
    .await;
    for n in 1..=3 {
        let body = json!({"rss_source_feed": f1, "rss_source_item": item_id("rw", n)});
        api.ok("POST", "/playlists/road/items", Some(body), 1).await;
    }
    let order = json!({"items": [item_id("rw", 3), item_id("rw", 1), item_id("rw", 2)]});
    api.ok("PUT", "/playlists/road/order", Some(order), 1).await;
    let last = api
        .ok(
            "DELETE",
            &format!("/playlists/road/items/{}", item_id("rw", 1)),
            None,
            1,
        )
        .await;
    let (status, road) = api.read("/playlists/road", Some(&token_of(&last))).await;
    assert_eq!(status, 200, "{road}");
    let items: Vec<&Value> = road["playlist"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .collect();
    assert_eq!(
        items
            .iter()
            .map(|i| i["rss_source_item"].clone())
            .collect::<Vec<_>>(),
        [json!(item_id("rw", 3)), json!(item_id("rw", 2))],
        "{road}"
    );
    assert_eq!(
        (items[0]["position"].as_i64(), items[1]["position"].as_i64()),
        (Some(0), Some(1))
    );
    assert_eq!(road["playlist"]["items_count"], 2);
    assert_eq!(road["playlist"]["description"], "Trips");

    let sub = |feed: &str| Some(json!({ "rss_source_feed": feed }));
    api.ok("POST", "/subscriptions", sub(&f1), 3).await;
    api.ok("POST", "/subscriptions", sub(&f2), 2).await;
    api.ok(
        "POST",
        "/collections",
        Some(json!({"id": "news", "title": "News"})),
        1,
    )
    .await;
    api.ok("POST", "/collections/news/feeds", sub(&f1), 1).await;
    api.ok("POST", "/collections/news/feeds", sub(&f2), 1).await;
    let moved = api
        .ok(
            "PUT",
            &format!("/collections/news/feeds/{f2}/position"),
            Some(json!({"position": 0})),
            1,
        )
        .await;
    let token = token_of(&moved);
    let (_, news) = api.read("/collections/news", Some(&token)).await;
    let feeds: Vec<Value> = news["collection"]["feeds"]
        .as_array()
        .expect("feeds")
        .iter()
        .map(|f| f["rss_source_feed"].clone())
        .collect();
    assert_eq!(feeds, [json!(f2), json!(f1)], "{news}");
    assert!(
        !news["collection"]["feeds"][0]["subscribed_at"].is_null(),
        "{news}"
    );
    let (_, all) = api.read("/collections", Some(&token)).await;
    let collections = all["collections"].as_array().expect("collections");
    assert_eq!(collections.len(), 2, "{all}");
    assert_eq!(
        (
            &collections[0]["is_default"],
            &collections[0]["feeds_count"]
        ),
        (&json!(true), &json!(2)),
        "the default collection first, holding every subscription: {all}"
    );
    let deleted = api.ok("DELETE", "/collections/news", None, 1).await;
    let (status, gone) = api
        .read("/collections/news", Some(&token_of(&deleted)))
        .await;
    assert_eq!((status, gone["code"].as_str()), (404, Some("not_found")));
    let (_, lists) = api.read("/playlists", None).await;
    assert_eq!(lists["pagination"]["total"], 1, "{lists}");
}

/// The public events of `user` (by their item ids) and the anonymous ones among `items`.
async fn public_view(api: &Api, token: &str, user: &str, items: &[String]) -> (Vec<String>, usize) {
    let (status, mine) = api
        .read(
            &format!("/public/timeline?user_id={user}&limit=100"),
            Some(token),
        )
        .await;
    assert_eq!(status, 200, "{mine}");
    let named = mine["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["rss_source_item"].as_str().map(str::to_owned))
        .collect();
    let mut anonymous = 0;
    for item in items {
        let (_, page) = api
            .read(
                &format!("/public/timeline?item={item}&limit=100"),
                Some(token),
            )
            .await;
        anonymous += page["events"]
            .as_array()
            .expect("events")
            .iter()
            .filter(|e| e["user_id"].is_null())
            .count();
    }
    (named, anonymous)
}

/// public → anonymous → private → public at the global, feed and episode level: to anonymous
/// strips the user id from the earlier events in scope, to private withdraws them (and their
/// points), back to public publishes new events with the user id again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_privacy_transition_at_every_level() {
    let stack = Stack::start(true).await;
    for level in ["global", "feed", "item"] {
        let user = format!("pv-{level}");
        let api = Api::new(&stack.server().url, &user);
        let feed = feed_id(&format!("https://feeds.example.com/pv-{level}.xml"));
        let items: Vec<String> = (1..=2).map(|n| item_id(&user, n)).collect();
        let play = |item: &str| {
            Some(json!({"rss_source_feed": feed, "rss_source_item": item, "position": 1}))
        };
        let mut scope = json!({});
        match level {
            "feed" => scope["feed"] = json!(feed),
            "item" => scope["item"] = json!(items[0]),
            _ => {}
        }
        let set = |privacy: &str| {
            let mut body = scope.clone();
            body["privacy"] = json!(privacy);
            Some(body)
        };
        api.ok("POST", "/play", play(&items[0]), 1).await;
        let answer = api.ok("POST", "/play", play(&items[1]), 1).await;
        let (named, anonymous) = public_view(&api, &token_of(&answer), &user, &items).await;
        assert_eq!(
            (named.len(), anonymous),
            (2, 0),
            "{level}: public by default"
        );
        // What the setting reaches: both plays, or only the first at the episode level.
        let reached = if level == "item" { 1 } else { 2 };

        let answer = api.ok("PUT", "/privacy", set("anonymous"), 1).await;
        let (named, anonymous) = public_view(&api, &token_of(&answer), &user, &items).await;
        assert_eq!(
            (named.len(), anonymous),
            (2 - reached, reached),
            "{level}: to anonymous strips the user id"
        );

        let answer = api.ok("PUT", "/privacy", set("private"), 1).await;
        let token = token_of(&answer);
        let (named, anonymous) = public_view(&api, &token, &user, &items).await;
        assert_eq!(
            (named.len(), anonymous),
            (2 - reached, 0),
            "{level}: to private withdraws them"
        );
        let (status, popularity) = api
            .read(
                &format!("/public/episode/{}/popularity", items[0]),
                Some(&token),
            )
            .await;
        assert_eq!(
            (status, popularity["code"].as_str()),
            (404, Some("not_found")),
            "{level}: a withdrawn play takes its points back: {popularity}"
        );
        api.ok("POST", "/play", play(&items[0]), 1).await;
        let (named, _) = public_view(&api, &token, &user, &items).await;
        let answer = api.ok("PUT", "/privacy", set("public"), 1).await;
        let (after_private, _) = public_view(&api, &token_of(&answer), &user, &items).await;
        assert_eq!(
            after_private, named,
            "{level}: a private play stays unpublished"
        );

        let answer = api.ok("POST", "/play", play(&items[0]), 1).await;
        let (named, anonymous) = public_view(&api, &token_of(&answer), &user, &items).await;
        assert_eq!(
            (named.len(), anonymous),
            (3 - reached, 0),
            "{level}: back to public, a new play is published with the user id"
        );
    }
    public_topic_equals_the_table(&stack).await;
}

/// Once relayed, the latest record per key of `public-events` (tombstones dropped) is exactly
/// `site.public_events`: withdrawn events end in a tombstone, anonymised ones without a user id.
async fn public_topic_equals_the_table(stack: &Stack) {
    let pool = sqlx::PgPool::connect(&stack.database_url)
        .await
        .expect("database");
    eventually(Duration::from_secs(20), "the outbox relayed", || async {
        let (left,): (i64,) = sqlx::query_as("SELECT count(*) FROM site.public_event_outbox")
            .fetch_one(&pool)
            .await
            .expect("outbox");
        (left == 0).then_some(())
    })
    .await;
    let table: BTreeMap<String, Option<String>> =
        sqlx::query_as::<_, (uuid::Uuid, Option<String>)>(
            "SELECT event_id, user_id FROM site.public_events",
        )
        .fetch_all(&pool)
        .await
        .expect("public events")
        .into_iter()
        .map(|(id, user)| (id.to_string(), user))
        .collect();
    pool.close().await;
    let topics = Topics::new(&stack.prefix);
    let codec = crate::helpers::codec(stack, &[]).await;
    let consumer = topic_reader(
        &format!("{}-public-check", stack.prefix),
        &topics.public_events,
    );
    let mut latest: BTreeMap<String, Option<Option<String>>> = BTreeMap::new();
    let mut tombstones = 0;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let current: BTreeMap<String, Option<String>> = latest
            .iter()
            .filter_map(|(k, v)| v.clone().map(|user| (k.clone(), user)))
            .collect();
        if current == table && tombstones > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "public-events {current:?} never matched the table {table:?}"
        );
        let Some(message) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let message = message.expect("no consumer error");
        let key = String::from_utf8(message.key().expect("keyed").to_vec()).expect("utf-8");
        let value = match message.payload() {
            None => {
                tombstones += 1;
                None
            }
            Some(bytes) => {
                let value = codec
                    .decode(Contract::PublicEvent, bytes)
                    .await
                    .expect("decodes");
                let event = PublicEvent::from_avro(value).expect("a public event");
                assert_eq!(event.event_id.to_string(), key, "keyed by event id");
                Some(event.user_id)
            }
        };
        latest.insert(key, value);
    }
}

fn hour(at: DateTime<Utc>) -> DateTime<Utc> {
    at.duration_trunc(TimeDelta::hours(1)).expect("truncates")
}

/// Points land in the event-time hour (a second before and at the hour are two buckets), a late
/// event within the grace period still counts in its hour, one beyond it only in the all-time
/// totals; the windows read the buckets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn popularity_windows_follow_event_time_and_the_grace_period() {
    let stack = Stack::start(true).await;
    let api = Api::new(&stack.server().url, "pop-a");
    let feed = feed_id("https://feeds.example.com/pop.xml");
    let episode = item_id("pop", 1);
    let recent_hour = hour(Utc::now()) - TimeDelta::hours(3);
    let play_at = |at: DateTime<Utc>| {
        Some(
            json!({"rss_source_feed": feed, "rss_source_item": episode, "position": 1,
                    "timestamp": at.to_rfc3339()}),
        )
    };
    // One user per play: one user's repeats of an episode earn points once a day.
    let player = |n: usize| Api::new(&stack.server().url, &format!("pop-a{n}"));
    // 49 hours ago: beyond the 48-hour grace period, all-time only.
    player(1)
        .ok(
            "POST",
            "/play",
            play_at(Utc::now() - TimeDelta::hours(49)),
            1,
        )
        .await;
    // 30 hours ago: inside the grace period, in the previous 24 hours.
    player(2)
        .ok(
            "POST",
            "/play",
            play_at(Utc::now() - TimeDelta::hours(30)),
            1,
        )
        .await;
    // Both sides of an hour, three hours ago: two buckets.
    player(3)
        .ok(
            "POST",
            "/play",
            play_at(recent_hour - TimeDelta::seconds(1)),
            1,
        )
        .await;
    player(4).ok("POST", "/play", play_at(recent_hour), 1).await;
    let other = Api::new(&stack.server().url, "pop-b");
    let last = other
        .ok(
            "POST",
            &format!("/episodes/{episode}/save"),
            Some(json!({"rss_source_feed": feed})),
            1,
        )
        .await;
    let token = token_of(&last);

    let pool = sqlx::PgPool::connect(&stack.database_url)
        .await
        .expect("database");
    let buckets: Vec<(DateTime<Utc>, i64, i64)> = sqlx::query_as(
        "SELECT bucket, score, plays FROM site.episode_popularity_hourly WHERE item_id = $1 ORDER BY bucket",
    )
    .bind(&episode)
    .fetch_all(&pool)
    .await
    .expect("buckets");
    let wanted_30h = hour(Utc::now() - TimeDelta::hours(30));
    assert!(
        buckets
            .iter()
            .any(|(b, s, p)| *b == recent_hour - TimeDelta::hours(1) && (*s, *p) == (5, 1))
            && buckets.iter().any(|(b, _, p)| *b == recent_hour && *p == 1)
            && buckets.iter().any(|(b, _, p)| *b == wanted_30h && *p == 1),
        "one play in each of the two hours and in the late one's own hour: {buckets:?}"
    );
    assert_eq!(
        buckets.iter().map(|(_, _, p)| p).sum::<i64>(),
        3,
        "the play beyond the grace period is in no bucket: {buckets:?}"
    );
    pool.close().await;

    let (status, popularity) = api
        .read(
            &format!("/public/episode/{episode}/popularity"),
            Some(&token),
        )
        .await;
    assert_eq!(status, 200, "{popularity}");
    let p = &popularity["popularity"];
    assert_eq!(
        (p["plays"].as_i64(), p["likes"].as_i64()),
        (Some(4), Some(1)),
        "{p}"
    );
    assert_eq!(
        p["score"],
        4 * 5 + 3,
        "all-time counts every public event: {p}"
    );
    assert_eq!(p["score_24h"], 2 * 5 + 3, "{p}");
    assert_eq!(p["score_previous_24h"], 5, "{p}");
    assert_eq!(p["score_7d"], 3 * 5 + 3, "{p}");
    let listeners: Vec<&str> = p["recent_listeners"]
        .as_array()
        .expect("listeners")
        .iter()
        .filter_map(|l| l["user_id"].as_str())
        .collect();
    assert_eq!(listeners.first(), Some(&"pop-b"), "newest first: {p}");

    let (_, trending) = api.read("/public/trending/podcasts", Some(&token)).await;
    let mine = trending["podcasts"]
        .as_array()
        .expect("podcasts")
        .iter()
        .find(|t| t["rss_source_feed"] == json!(feed))
        .cloned()
        .unwrap_or_else(|| panic!("the podcast trends: {trending}"));
    assert_eq!(
        (mine["score"].as_i64(), mine["previous_score"].as_i64()),
        (Some(13), Some(5))
    );
    let (_, all_time) = api
        .read("/public/trending/episodes?period=all", Some(&token))
        .await;
    assert_eq!(all_time["episodes"][0]["score"], 23, "{all_time}");
    for (query, code) in [
        ("/public/trending/podcasts?period=year", "invalid_period"),
        ("/public/trending/episodes?limit=0", "invalid_limit"),
        ("/public/timeline?event_type=listen", "invalid_event_type"),
        ("/public/timeline?cursor=%%", "invalid_cursor"),
        ("/public/feed/%25%25/popularity", "invalid_feed_id"),
    ] {
        let (status, body) = api.read(query, None).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (422, Some(code)),
            "{query}: {body}"
        );
    }
}
