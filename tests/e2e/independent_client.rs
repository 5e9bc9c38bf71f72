//! The event on `events` decodes, with the schema the registry serves for its id, by a client
//! that shares no code with the project (Python confluent-kafka + fastavro).

use crate::helpers::{Stack, feed_id, kafka_bootstrap, python, repo_root, token};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_decode_with_the_registry_schema_in_an_independent_client() {
    let stack = Stack::start(true).await;
    let feed_url = "https://feeds.example.com/independent.xml";
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/subscriptions", stack.server().url))
        .bearer_auth(token("carol", 300))
        .json(&serde_json::json!({ "rss_source_feed": feed_id(feed_url), "rss_source_id": "abc" }))
        .send()
        .await
        .expect("reachable");
    assert_eq!(response.status(), 202);

    let output = tokio::process::Command::new(python())
        .arg(repo_root().join("tests/python/decode_events.py"))
        .args([
            kafka_bootstrap(),
            stack.registry_url.clone(),
            stack.topic("events.v1"),
            "carol".into(),
            feed_url.into(),
            "60".into(),
        ])
        .output()
        .await
        .expect("python runs (BALADOS_TEST_PYTHON)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "decoder failed: {}\nstdout: {stdout}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let line: serde_json::Value =
        serde_json::from_str(stdout.lines().last().expect("a line")).expect("json");
    let event = &line["event"];
    assert_eq!(event["sequence"], 1);
    assert_eq!(event["payload"]["source_id"], "abc");
    assert_eq!(event["app_id"], crate::helpers::APP);
}
