//! Bad input: each case a 4xx with the stable JSON error body, and nothing produced to Kafka.

use crate::helpers::{OTHER_PRIVATE_KEY, Stack, feed_id, token, token_signed_with, topic_reader};
use rdkafka::message::Message as _;
use std::time::{Duration, Instant};

struct Case {
    name: &'static str,
    method: reqwest::Method,
    path: String,
    token: Option<String>,
    content_type: &'static str,
    body: Vec<u8>,
    status: u16,
    code: &'static str,
}

fn cases() -> Vec<Case> {
    let good = token("mallory", 300);
    let json = |v: serde_json::Value| v.to_string().into_bytes();
    let post = |name, token: Option<String>, body: Vec<u8>, status, code| Case {
        name,
        method: reqwest::Method::POST,
        path: "/api/v1/subscriptions".into(),
        token,
        content_type: "application/json",
        body,
        status,
        code,
    };
    let feed = feed_id("https://ok.example.com/feed");
    vec![
        post(
            "invalid base64",
            Some(good.clone()),
            json(serde_json::json!({"rss_source_feed": "%%%not base64%%%"})),
            422,
            "invalid_feed_id",
        ),
        post(
            "not an http(s) URL",
            Some(good.clone()),
            json(serde_json::json!({"rss_source_feed": feed_id("ftp://files.example.com/feed")})),
            422,
            "invalid_feed_url",
        ),
        post(
            "not a URL at all",
            Some(good.clone()),
            json(serde_json::json!({"rss_source_feed": feed_id("just words")})),
            422,
            "invalid_feed_url",
        ),
        post(
            "missing field",
            Some(good.clone()),
            json(serde_json::json!({"rss_source_id": "x"})),
            422,
            "invalid_body",
        ),
        post(
            "field of the wrong type",
            Some(good.clone()),
            json(serde_json::json!({"rss_source_feed": 42})),
            422,
            "invalid_body",
        ),
        post(
            "not JSON",
            Some(good.clone()),
            b"{not json".to_vec(),
            400,
            "invalid_json",
        ),
        post(
            "body over 1 MB",
            Some(good.clone()),
            json(
                serde_json::json!({"rss_source_feed": feed, "rss_source_id": "x".repeat(1_100_000)}),
            ),
            413,
            "payload_too_large",
        ),
        post(
            "missing token",
            None,
            json(serde_json::json!({"rss_source_feed": feed})),
            401,
            "missing_token",
        ),
        post(
            "expired token",
            Some(token("mallory", -3600)),
            json(serde_json::json!({"rss_source_feed": feed})),
            401,
            "token_expired",
        ),
        post(
            "forged token",
            Some(token_signed_with(OTHER_PRIVATE_KEY, "mallory", 300)),
            json(serde_json::json!({"rss_source_feed": feed})),
            401,
            "invalid_signature",
        ),
        post(
            "garbage token",
            Some("abc.def.ghi".into()),
            json(serde_json::json!({"rss_source_feed": feed})),
            401,
            "malformed_token",
        ),
        Case {
            content_type: "text/plain",
            ..post(
                "wrong content type",
                Some(good.clone()),
                json(serde_json::json!({"rss_source_feed": feed})),
                415,
                "unsupported_media_type",
            )
        },
        Case {
            method: reqwest::Method::DELETE,
            path: "/api/v1/subscriptions/%25%25bad".into(),
            ..post(
                "bad feed id in the path",
                Some(good.clone()),
                vec![],
                422,
                "invalid_feed_id",
            )
        },
        Case {
            path: "/api/v1/nowhere".into(),
            ..post("unknown route", Some(good), vec![], 404, "not_found")
        },
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_request_gets_a_4xx_with_a_stable_error_and_produces_nothing() {
    let stack = Stack::start(true).await;
    let url = stack.server().url.clone();
    let client = reqwest::Client::new();
    for case in cases() {
        let mut request = client
            .request(case.method.clone(), format!("{url}{}", case.path))
            .header("content-type", case.content_type)
            .body(case.body);
        if let Some(token) = &case.token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("reachable");
        let status = response.status().as_u16();
        let body: serde_json::Value = response
            .json()
            .await
            .unwrap_or_else(|e| panic!("{}: body is not JSON: {e}", case.name));
        assert_eq!(
            (status, body["code"].as_str()),
            (case.status, Some(case.code)),
            "{}: {body}",
            case.name
        );
        assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{}: error message missing: {body}",
            case.name
        );
    }

    // A good request last, as a fence: once it is read, everything produced before it has been.
    let response = client
        .post(format!("{url}/api/v1/subscriptions"))
        .bearer_auth(token("mallory", 300))
        .json(&serde_json::json!({ "rss_source_feed": feed_id("https://ok.example.com/feed") }))
        .send()
        .await
        .expect("reachable");
    assert_eq!(response.status(), 202);
    let command_id = response.json::<serde_json::Value>().await.expect("json")["command_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let records = read_until(&stack.topic("commands.v1"), command_id.as_bytes());
    assert_eq!(records, 1, "only the good request produced a command");
}

/// Counts the records of `topic` up to and including the first whose value contains `needle`.
fn read_until(topic: &str, needle: &[u8]) -> usize {
    let consumer = topic_reader(&format!("{topic}-check"), topic);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut count = 0;
    while Instant::now() < deadline {
        if let Some(message) = consumer.poll(Duration::from_millis(200)) {
            let message = message.expect("no consumer error");
            count += 1;
            if message
                .payload()
                .is_some_and(|p| p.windows(needle.len()).any(|w| w == needle))
            {
                return count;
            }
        }
    }
    panic!("the fence record never arrived on {topic}");
}
