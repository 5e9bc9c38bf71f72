//! The play gateway, as a player that cannot sign a request uses it: a media link
//! `/play/{token}/{feed}/{item}` with a play token made on the account's page. It answers 302 to
//! the episode's media (never cached, no Referer), records the listen as the user's without
//! moving the position an app recorded, does not count a request for a later part of the file,
//! and refuses a token that is not live — no redirect for anyone without one.

use crate::accounts::client::Browser;
use crate::helpers::{Api, Stack, feed_id, header};
use std::time::{Duration, Instant};

const FEED: &str = "https://gateway.example/feed.xml";

fn item_id(guid: &str, media: &str) -> String {
    feed_id(&format!("{guid},{media}"))
}

/// The play token shown once on the page that creates it, and that page.
pub(crate) async fn play_token(browser: &mut Browser, name: &str) -> (String, String) {
    let csrf = browser.csrf("/account/play-tokens").await;
    let created = browser
        .post(
            "/account/play-tokens",
            &[("csrf", &csrf), ("name", name), ("days", "30")],
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let start = created.body.find("bpt_").expect("the token is shown");
    let token = created.body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
        .collect();
    (token, created.body)
}

/// The user's play statuses by guid: (position, duration, played, updated_at).
async fn statuses(
    api: &Api,
    consistency: Option<&str>,
) -> std::collections::HashMap<String, (i64, Option<i64>, bool, String)> {
    let (status, body) = api.read("/play", consistency).await;
    assert_eq!(status, 200, "{body}");
    body["play_statuses"]
        .as_array()
        .expect("statuses")
        .iter()
        .map(|s| {
            (
                s["guid"].as_str().expect("guid").to_owned(),
                (
                    s["position"].as_i64().expect("position"),
                    s["duration"].as_i64(),
                    s["played"].as_bool().expect("played"),
                    s["updated_at"].as_str().unwrap_or_default().to_owned(),
                ),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_player_plays_through_the_gateway_and_the_listen_is_recorded_without_moving_a_position() {
    let stack = Stack::start(true).await;
    let url = stack.server().url.clone();
    let mut browser = Browser::new(&url);
    let user = browser
        .register("gateway_gail", "correct horse battery")
        .await;
    let (play_token, _) = play_token(&mut browser, "my feed reader").await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");

    // An app recorded where Gail stopped in episode 1.
    let api = Api::new(&url, &user);
    let media_1 = "https://cdn.gateway.example/one.mp3";
    let play = serde_json::json!({
        "rss_source_feed": feed_id(FEED),
        "rss_source_item": item_id("one", media_1),
        "position": 1234,
        "duration": 3600,
    });
    let played = api.ok("POST", "/play", Some(play), 1).await;
    let consistency = played["consistency_token"].as_str();
    let before = statuses(&api, consistency).await["one"].clone();

    let link = |guid: &str, media: &str| {
        format!(
            "{url}/play/{play_token}/{}/{}",
            feed_id(FEED),
            item_id(guid, media)
        )
    };
    // Her feed reader plays episode 1 again, then episode 2 (a media URL with a space).
    for (guid, media, location) in [
        ("one", media_1, media_1),
        (
            "two",
            "https://cdn.gateway.example/ép 2.mp3",
            "https://cdn.gateway.example/%C3%A9p%202.mp3",
        ),
    ] {
        let answer = http.get(link(guid, media)).send().await.expect("gateway");
        assert_eq!(answer.status(), 302, "{:?}", answer.text().await);
        assert_eq!(header(&answer, "location").as_deref(), Some(location));
        assert_eq!(
            header(&answer, "cache-control").as_deref(),
            Some("no-store")
        );
        assert_eq!(
            header(&answer, "referrer-policy").as_deref(),
            Some("no-referrer")
        );
    }
    // A later part of episode 3's file (a seek), and a look before playing: no listen.
    let media_3 = "https://cdn.gateway.example/three.mp3";
    let seek = http
        .get(link("three", media_3))
        .header("Range", "bytes=1048576-")
        .send()
        .await
        .expect("gateway");
    assert_eq!(seek.status(), 302);
    let look = http
        .head(link("three", media_3))
        .send()
        .await
        .expect("HEAD");
    assert_eq!(look.status(), 302);

    let deadline = Instant::now() + Duration::from_secs(30);
    let after = loop {
        let now = statuses(&api, None).await;
        let one_again = now.get("one").is_some_and(|one| one.3 != before.3);
        if one_again && now.contains_key("two") {
            break now;
        }
        assert!(Instant::now() < deadline, "listens not recorded: {now:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let one = &after["one"];
    assert_eq!(
        (one.0, one.1, one.2),
        (1234, Some(3600), false),
        "the listen kept the app's position"
    );
    let two = &after["two"];
    assert_eq!((two.0, two.2), (0, false), "a first listen starts at 0");
    assert!(
        !after.contains_key("three"),
        "a part of the file or a HEAD is no listen: {after:?}"
    );

    // No live token, no redirect: unknown, malformed, then revoked.
    let refused = http
        .get(format!(
            "{url}/play/bpt_unknown/{}/{}",
            feed_id(FEED),
            item_id("one", media_1)
        ))
        .send()
        .await
        .expect("gateway");
    assert_eq!(refused.status(), 401);
    assert!(refused.headers().get("location").is_none());
    let body: serde_json::Value = refused.json().await.expect("json error");
    assert_eq!(body["code"], "invalid_play_token");
    let malformed = http
        .get(format!(
            "{url}/play/{play_token}/{}/bm90LWFuLWl0ZW0",
            feed_id(FEED)
        ))
        .send()
        .await
        .expect("gateway");
    assert_eq!(malformed.status(), 422);
    let tokens = browser.get("/account/play-tokens").await;
    let revoke = tokens
        .body
        .split(r#"action="/account/play-tokens/"#)
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a revoke form");
    let csrf = browser.csrf("/account/play-tokens").await;
    let revoked = browser
        .post(
            &format!("/account/play-tokens/{revoke}"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(revoked.status, 303, "{}", revoked.body);
    let after_revocation = http
        .get(link("one", media_1))
        .send()
        .await
        .expect("gateway");
    assert_eq!(after_revocation.status(), 401);
}
