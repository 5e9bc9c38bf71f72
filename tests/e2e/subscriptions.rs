//! The walking skeleton: a subscription travels the whole pipeline, and back out; and an OPML
//! import through the API and the account page (its CSRF token required).

use crate::helpers::{Stack, eventually, feed_id, subscriptions, token};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_becomes_visible_and_an_unsubscription_removes_it() {
    let stack = Stack::start(true).await;
    let url = stack.server().url.clone();
    let client = reqwest::Client::new();
    let feed = feed_id("https://feeds.example.com/walking-skeleton.xml");

    let response = client
        .post(format!("{url}/api/v1/subscriptions"))
        .bearer_auth(token("alice", 300))
        .json(&serde_json::json!({ "rss_source_feed": feed, "rss_source_id": "src-1" }))
        .send()
        .await
        .expect("reachable");
    assert_eq!(response.status(), 202);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["status"], "accepted");
    assert!(uuid::Uuid::parse_str(body["command_id"].as_str().expect("command id")).is_ok());

    let expected = vec![feed.clone()];
    eventually(
        Duration::from_secs(5),
        "the subscription visible in the query API",
        || async { (subscriptions(&url, "alice").await == expected).then_some(()) },
    )
    .await;
    assert!(
        subscriptions(&url, "bob").await.is_empty(),
        "another user sees nothing of alice's"
    );

    let response = client
        .delete(format!("{url}/api/v1/subscriptions/{feed}"))
        .bearer_auth(token("alice", 300))
        .send()
        .await
        .expect("reachable");
    assert_eq!(response.status(), 202);
    eventually(
        Duration::from_secs(5),
        "the subscription gone from the query API",
        || async { subscriptions(&url, "alice").await.is_empty().then_some(()) },
    )
    .await;
}

/// An OPML file as apps export them: a feed at the top, a group of two (one written with noise
/// the service normalises away), the first again inside the group, and a URL that is no feed.
const OPML: &str = r#"<?xml version="1.0"?><opml version="2.0"><body>
<outline text="one" xmlUrl="feed://example.com/opml-1.xml"/>
<outline text="Tech &amp; Science">
  <outline text="two" xmlUrl="https://example.com/opml-2.xml"/>
  <outline text="three" xmlUrl="http://EXAMPLE.com/opml-3.xml?utm_source=x"/>
  <outline text="one again" xmlUrl="feed://example.com/opml-1.xml"/>
</outline>
<outline text="broken" xmlUrl="mailto:nobody@example.com"/>
</body></opml>"#;

async fn import(url: &str, user: &str, body: &str) -> (u16, serde_json::Value) {
    let response = reqwest::Client::new()
        .post(format!("{url}/api/v1/subscriptions/opml"))
        .bearer_auth(token(user, 300))
        .header("content-type", "text/x-opml")
        .body(body.to_owned())
        .send()
        .await
        .expect("reachable");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_opml_import_subscribes_each_feed_and_makes_groups_collections() {
    let stack = Stack::start(true).await;
    let url = stack.server().url.clone();
    let (status, report) = import(&url, "opml_alice", OPML).await;
    assert_eq!(status, 200, "{report}");
    let statuses: Vec<(&str, &str)> = report["feeds"]
        .as_array()
        .expect("feeds")
        .iter()
        .map(|f| {
            (
                f["url"].as_str().unwrap_or(""),
                f["status"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("feed://example.com/opml-1.xml", "subscribed"),
            ("https://example.com/opml-2.xml", "subscribed"),
            ("http://EXAMPLE.com/opml-3.xml?utm_source=x", "subscribed"),
            ("mailto:nobody@example.com", "invalid"),
        ],
        "{report}"
    );
    assert_eq!(report["feeds"][2]["feed"], "http://example.com/opml-3.xml");
    let collection = &report["collections"][0];
    assert_eq!(
        (
            &collection["title"],
            &collection["status"],
            &collection["feeds"]
        ),
        (&"Tech & Science".into(), &"created".into(), &3.into()),
        "{report}"
    );

    // Again: nothing new, the same collection found by its title.
    let (status, again) = import(&url, "opml_alice", OPML).await;
    assert_eq!(status, 200);
    assert!(
        again["feeds"].as_array().expect("feeds")[..3]
            .iter()
            .all(|f| f["status"] == "already"),
        "{again}"
    );
    assert_eq!(again["collections"][0]["status"], "existing");
    assert_eq!(
        again["collections"][0]["collection_id"],
        collection["collection_id"]
    );

    // The export holds the feeds and the group.
    let exported = eventually(
        Duration::from_secs(5),
        "the import in the OPML export",
        || async {
            let text = reqwest::Client::new()
                .get(format!("{url}/api/v1/subscriptions/opml"))
                .bearer_auth(token("opml_alice", 300))
                .send()
                .await
                .ok()?
                .text()
                .await
                .ok()?;
            (text.contains(r#"<outline text="Tech &amp; Science">"#)
                && text
                    .matches(r#"xmlUrl="http://example.com/opml-3.xml""#)
                    .count()
                    == 2)
                .then_some(text)
        },
    )
    .await;
    assert!(
        exported.contains(r#"xmlUrl="http://example.com/opml-1.xml""#),
        "{exported}"
    );

    let (status, refused) = import(&url, "opml_alice", "not opml at all").await;
    assert_eq!((status, &refused["code"]), (422, &"invalid_opml".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_import_page_needs_its_csrf_token_then_imports() {
    use crate::accounts::client::{Browser, csrf_of};
    let stack = Stack::start(true).await;
    let mut browser = Browser::new(&stack.server().url);
    browser
        .register("opml_page", "a long enough password")
        .await;
    let page = browser.get("/account/export").await;
    assert!(
        page.body.contains(r#"href="/account/import""#),
        "linked from the export page"
    );
    let csrf = csrf_of(&browser.get("/account/import").await.body);
    for forged in ["", "forged"] {
        let refused = browser
            .post("/account/import", &[("csrf", forged), ("opml", OPML)])
            .await;
        assert!(
            (400..500).contains(&refused.status),
            "a form without its token: {}",
            refused.status
        );
    }
    let done = browser
        .post("/account/import", &[("csrf", &csrf), ("opml", OPML)])
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(
        done.body
            .contains("Imported: 3 subscribed, 0 already subscribed, 1 invalid."),
        "{}",
        done.body
    );
    assert!(done.body.contains("Tech &amp; Science — created, 3 feeds"));
}
