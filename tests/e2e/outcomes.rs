//! `Prefer: wait=N`: the outcome of the command instead of a bare 202, routed back to the
//! instance that produced the command through its partition of `command-results`.

use crate::helpers::{Stack, eventually, feed_id, token};
use std::time::Duration;

async fn send(
    request: reqwest::RequestBuilder,
    prefer: Option<&str>,
) -> (u16, Option<String>, serde_json::Value) {
    let request = match prefer {
        Some(p) => request.header("Prefer", p),
        None => request,
    };
    let response = request.send().await.expect("reachable");
    let status = response.status().as_u16();
    let applied = response
        .headers()
        .get("preference-applied")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (status, applied, response.json().await.expect("json"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_waits_gets_the_outcome_with_a_consistency_token() {
    let stack = Stack::start(true).await;
    let url = stack.server().url.clone();
    let client = reqwest::Client::new();
    let feed = feed_id("https://feeds.example.com/outcomes.xml");
    let auth = token("dave", 300);
    let post = || {
        client
            .post(format!("{url}/api/v1/subscriptions"))
            .bearer_auth(&auth)
            .json(&serde_json::json!({ "rss_source_feed": feed }))
    };
    let delete = || {
        client
            .delete(format!("{url}/api/v1/subscriptions/{feed}"))
            .bearer_auth(&auth)
    };

    let (status, applied, body) = send(post(), Some("wait=5")).await;
    assert_eq!(
        (status, applied.as_deref()),
        (201, Some("wait=5")),
        "{body}"
    );
    // The subscription, and the default collection created with it and holding it.
    assert_eq!(
        (body["status"].as_str(), body["events"].as_u64()),
        (Some("accepted"), Some(3)),
        "{body}"
    );
    let token = body["consistency_token"]
        .as_str()
        .expect("a token when events were emitted");
    assert!(token.starts_with("v1."), "{token}");

    let (status, _, body) = send(post(), Some("respond-async, wait=5")).await;
    assert_eq!(
        (status, body["events"].as_u64()),
        (200, Some(0)),
        "subscribing again changes nothing: {body}"
    );
    assert!(body["consistency_token"].is_null(), "{body}");

    let (status, applied, body) = send(delete(), Some("wait=60")).await;
    assert_eq!(
        (status, applied.as_deref()),
        (200, Some("wait=10")),
        "a wait over 10 s is clamped: {body}"
    );
    assert_eq!(body["events"].as_u64(), Some(2), "{body}");
    let later = body["consistency_token"].as_str().expect("token");
    let offset = |t: &str| {
        t.rsplit('.')
            .next()
            .and_then(|o| o.parse::<i64>().ok())
            .expect("offset")
    };
    if token.split('.').nth(1) == later.split('.').nth(1) {
        assert!(
            offset(later) > offset(token),
            "tokens move forward in one partition: {token} then {later}"
        );
    }

    let (status, applied, body) = send(post(), None).await;
    assert_eq!(
        (status, applied),
        (202, None),
        "no preference, no wait: {body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_idempotency_key_twice_yields_the_same_outcome_and_one_event() {
    let stack = Stack::start(true).await;
    let url = stack.server().url.clone();
    let client = reqwest::Client::new();
    let auth = token("erin", 300);
    let feed = feed_id("https://feeds.example.com/idempotent.xml");
    let post = |key: &str| {
        client
            .post(format!("{url}/api/v1/subscriptions"))
            .bearer_auth(&auth)
            .header("Idempotency-Key", key)
            .json(&serde_json::json!({ "rss_source_feed": feed }))
    };
    let (status, _, first) = send(post("retry-me"), Some("wait=5")).await;
    assert_eq!(status, 201, "{first}");
    let (status, _, again) = send(post("retry-me"), Some("wait=5")).await;
    assert_eq!(status, 200, "a retry is not a second creation: {again}");
    assert_eq!(again["command_id"], first["command_id"]);
    assert_eq!(
        (again["duplicate"].as_bool(), again["events"].as_u64()),
        (Some(true), Some(3)),
        "the original outcome: {again}"
    );
    assert_eq!(
        again["consistency_token"],
        serde_json::Value::Null,
        "nothing new was emitted"
    );

    let (status, _, bad) = send(post(&"k".repeat(300)), None).await;
    assert_eq!(
        (status, bad["code"].as_str()),
        (422, Some("invalid_idempotency_key")),
        "{bad}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outcome_can_be_read_later_by_its_user_only() {
    let stack = Stack::start(true).await;
    let url = stack.server().url.clone();
    let client = reqwest::Client::new();
    let (status, _, accepted) = send(
        client
            .post(format!("{url}/api/v1/subscriptions"))
            .bearer_auth(token("frank", 300))
            .json(&serde_json::json!({ "rss_source_feed": feed_id("https://feeds.example.com/later.xml") })),
        None,
    )
    .await;
    assert_eq!(status, 202);
    let id = accepted["command_id"].as_str().expect("id").to_owned();
    let get = |user: &str| {
        client
            .get(format!("{url}/api/v1/commands/{id}"))
            .bearer_auth(token(user, 300))
            .send()
    };

    let outcome: serde_json::Value =
        eventually(Duration::from_secs(10), "the outcome readable", || async {
            let response = get("frank").await.expect("reachable");
            (response.status() == 200).then_some(response)
        })
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        (outcome["status"].as_str(), outcome["events"].as_u64()),
        (Some("accepted"), Some(3)),
        "{outcome}"
    );
    assert!(
        outcome["consistency_token"]
            .as_str()
            .is_some_and(|t| t.starts_with("v1.")),
        "{outcome}"
    );

    let other = get("mallory").await.expect("reachable");
    assert_eq!(
        other.status(),
        404,
        "another user's command is not theirs to read"
    );
    let bad = client
        .get(format!("{url}/api/v1/commands/not-a-uuid"))
        .bearer_auth(token("frank", 300))
        .send()
        .await
        .expect("reachable");
    assert_eq!(bad.status(), 422);
}
