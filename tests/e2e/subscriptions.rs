//! The walking skeleton: a subscription travels the whole pipeline, and back out.

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
