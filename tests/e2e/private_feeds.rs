//! Private feeds as a podcast app that syncs nothing itself uses them: the user subscribes (here
//! through the API), makes a play token on the account's page, and gives the app
//! `/rss/{token}/subscriptions`. The server fetches the podcasts' feeds (served here on loopback,
//! which the test's server is allowed to read) and answers one RSS feed of their newest episodes,
//! each linked through the play gateway; a feed that cannot be read is left out.

use crate::accounts::client::Browser;
use crate::helpers::{Api, Stack, feed_id, header, public_address_env};
use crate::play_gateway::play_token;
use std::collections::HashMap;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

fn podcast(title: &str, items: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"><channel>
<title>{title}</title><link>https://example.org/</link>{items}</channel></rss>"#
    )
}

fn item(title: &str, guid: Option<&str>, media: &str, date: &str) -> String {
    let guid = guid.map_or(String::new(), |g| format!("<guid>{g}</guid>"));
    format!(
        r#"<item><title>{title}</title>{guid}<pubDate>{date}</pubDate>
<enclosure url="{media}" type="audio/mpeg" length="1000"/><itunes:duration>30:00</itunes:duration></item>"#
    )
}

/// Serves `documents` (path → (status, body)) on loopback, as the podcasts' hosts; its address.
async fn podcast_hosts(documents: HashMap<String, (u16, String)>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let documents = documents.clone();
            tokio::spawn(async move {
                let mut request = vec![0u8; 8192];
                let read = socket.read(&mut request).await.unwrap_or(0);
                let request = String::from_utf8_lossy(&request[..read]).into_owned();
                let path = request.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let (status, body) = documents
                    .get(&path)
                    .cloned()
                    .unwrap_or((404, "not found".to_owned()));
                let answer = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/rss+xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    format!("http://{address}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_feed_lists_the_newest_episodes_of_the_subscriptions_through_the_gateway() {
    let documents = HashMap::from([
        (
            "/a.xml".to_owned(),
            (
                200,
                podcast(
                    "Podcast A &amp; friends",
                    &[
                        item(
                            "First",
                            Some("a-1"),
                            "https://cdn.example/a1.mp3",
                            "Mon, 02 Nov 2026 08:00:00 GMT",
                        ),
                        item(
                            "Second",
                            Some("a-2"),
                            "https://cdn.example/a2.mp3",
                            "Mon, 16 Nov 2026 08:00:00 GMT",
                        ),
                    ]
                    .concat(),
                ),
            ),
        ),
        (
            "/b.xml".to_owned(),
            (
                200,
                podcast(
                    "Podcast B",
                    &item(
                        "Newest",
                        None,
                        "https://cdn.example/b1.mp3?x=1&amp;y=2",
                        "Mon, 30 Nov 2026 08:00:00 GMT",
                    ),
                ),
            ),
        ),
        ("/down.xml".to_owned(), (500, "oops".to_owned())),
        (
            "/page.html".to_owned(),
            (200, "<html><body>no feed</body></html>".to_owned()),
        ),
    ]);
    let hosts = podcast_hosts(documents).await;

    let mut stack = Stack::start(false).await;
    let mut env = public_address_env();
    env.push((
        "BALADOS__FEEDS__ALLOW_PRIVATE_ADDRESSES".into(),
        "true".into(),
    ));
    let url = stack.start_server(&env).await.url.clone();
    let mut browser = Browser::new(&url);
    let user = browser.register("feeds_fay", "correct horse battery").await;
    let (token, page) = play_token(&mut browser, "my old podcast app").await;
    let shown = format!("{url}/rss/{token}/subscriptions");
    assert!(
        page.contains(&shown),
        "the page gives the private feed: {page}"
    );

    let api = Api::new(&url, &user);
    let mut last = None;
    for path in ["/a.xml", "/b.xml", "/down.xml", "/page.html"] {
        let body = serde_json::json!({ "rss_source_feed": feed_id(&format!("{hosts}{path}")) });
        let (status, answer) = api.call("POST", "/subscriptions", Some(body)).await;
        assert_eq!(status, 201, "{answer}");
        last = answer["consistency_token"].as_str().map(str::to_owned);
    }
    // The read models have the subscriptions before the feed is asked for.
    let (status, _) = api.read("/subscriptions", last.as_deref()).await;
    assert_eq!(status, 200);

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let answer = http
        .get(format!("{url}/rss/{token}/subscriptions"))
        .send()
        .await
        .expect("private feed");
    assert_eq!(answer.status(), 200);
    assert_eq!(
        header(&answer, "content-type").as_deref(),
        Some("application/rss+xml; charset=utf-8")
    );
    assert_eq!(
        header(&answer, "cache-control").as_deref(),
        Some("private, no-store")
    );
    let document = answer.bytes().await.expect("body");
    let channel = balados_feeds::parse(&document).expect("the private feed is RSS");
    let titles: Vec<&str> = channel.episodes.iter().map(|e| e.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "Podcast B — Newest",
            "Podcast A & friends — Second",
            "Podcast A & friends — First"
        ],
        "newest first, the unreadable feeds left out"
    );
    assert_eq!(channel.episodes[1].duration_seconds, Some(1800));
    let gateway = format!("{url}/play/{token}/");
    for episode in &channel.episodes {
        assert!(
            episode.media_url.starts_with(&gateway),
            "{}",
            episode.media_url
        );
    }

    // Playing the newest in the app goes through the gateway to the podcast's own media.
    let played = http
        .get(&channel.episodes[0].media_url)
        .send()
        .await
        .expect("gateway");
    assert_eq!(played.status(), 302);
    assert_eq!(
        played
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok()),
        Some("https://cdn.example/b1.mp3?x=1&y=2")
    );

    // The two feeds left out are counted, by why.
    let metrics = crate::helpers::metrics(&url).await;
    for (outcome, count) in [("read", 2), ("status", 1), ("not_rss", 1)] {
        let series =
            format!("balados_private_feed_sources_total{{outcome=\"{outcome}\"}} {count}\n");
        assert!(metrics.contains(&series), "{series} in\n{metrics}");
    }

    // A collection's feed: its podcasts only.
    let a = feed_id(&format!("{hosts}/a.xml"));
    let morning = serde_json::json!({ "id": "morning", "title": "Morning" });
    api.call("POST", "/collections", Some(morning)).await;
    let add = serde_json::json!({ "rss_source_feed": a });
    let (status, added) = api
        .call("POST", "/collections/morning/feeds", Some(add))
        .await;
    assert_eq!(status, 201, "{added}");
    let shown = added["consistency_token"].as_str();
    assert_eq!(api.read("/collections/morning", shown).await.0, 200);
    let collection = private_feed(&http, &format!("{url}/rss/{token}/collections/morning")).await;
    assert_eq!(collection.title, "Balados Sync — Morning");
    let titles: Vec<&str> = collection
        .episodes
        .iter()
        .map(|e| e.title.as_str())
        .collect();
    assert_eq!(
        titles,
        [
            "Podcast A & friends — Second",
            "Podcast A & friends — First"
        ]
    );

    // A playlist's feed: its episodes in its order, one of a feed that cannot be read named by
    // its media file.
    let commute = serde_json::json!({ "id": "commute", "name": "Commute" });
    api.call("POST", "/playlists", Some(commute)).await;
    for (path, guid, media) in [
        (
            "/b.xml",
            "https://cdn.example/b1.mp3?x=1&y=2",
            "https://cdn.example/b1.mp3?x=1&y=2",
        ),
        (
            "/down.xml",
            "down-1",
            "https://cdn.example/down/episode-9.mp3",
        ),
        ("/a.xml", "a-1", "https://cdn.example/a1.mp3"),
    ] {
        let item = serde_json::json!({
            "rss_source_feed": feed_id(&format!("{hosts}{path}")),
            "rss_source_item": feed_id(&format!("{guid},{media}")),
        });
        let (status, added) = api
            .call("POST", "/playlists/commute/items", Some(item))
            .await;
        assert_eq!(status, 201, "{added}");
        last = added["consistency_token"].as_str().map(str::to_owned);
    }
    assert_eq!(api.read("/playlists/commute", last.as_deref()).await.0, 200);
    let playlist = private_feed(&http, &format!("{url}/rss/{token}/playlists/commute")).await;
    let titles: Vec<&str> = playlist.episodes.iter().map(|e| e.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "Podcast B — Newest",
            "episode-9.mp3",
            "Podcast A & friends — First"
        ]
    );
    let missing = http
        .get(format!("{url}/rss/{token}/collections/nope"))
        .send()
        .await
        .expect("private feed");
    assert_eq!(missing.status(), 404);

    let refused = http
        .get(format!("{url}/rss/bpt_unknown/subscriptions"))
        .send()
        .await
        .expect("private feed");
    assert_eq!(refused.status(), 401);
}

/// The private feed at `address`, read as RSS.
async fn private_feed(http: &reqwest::Client, address: &str) -> balados_feeds::Channel {
    let answer = http.get(address).send().await.expect("private feed");
    assert_eq!(answer.status(), 200, "{address}");
    balados_feeds::parse(&answer.bytes().await.expect("body")).expect("RSS")
}
