//! A malformed record on `commands` goes to the dead-letter topic with its reason, and processing
//! goes on.

use crate::helpers::{Stack, feed_id, kafka_bootstrap, token, topic_reader};
use rdkafka::ClientConfig;
use rdkafka::message::{Headers as _, Message as _};
use rdkafka::producer::{FutureProducer, FutureRecord};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undecodable_command_is_dead_lettered_and_the_next_one_processed() {
    let stack = Stack::start(true).await;
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", kafka_bootstrap())
        .set("partitioner", "murmur2_random")
        .create()
        .expect("producer");
    let commands = stack.topic("commands.v1");
    // Not the Confluent wire format, then a frame naming a schema id nobody registered.
    for (key, garbage) in [
        ("gina", &b"not avro at all"[..]),
        ("gina", &[0, 0, 0, 0x7f, 0x7f, 1, 2, 3][..]),
    ] {
        let record = FutureRecord::to(&commands).key(key).payload(garbage);
        producer
            .send(record, Duration::from_secs(10))
            .await
            .map_err(|(e, _)| e)
            .expect("produced");
    }

    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/subscriptions", stack.server().url))
        .bearer_auth(token("gina", 300))
        .header("Prefer", "wait=10")
        .json(&serde_json::json!({ "rss_source_feed": feed_id("https://feeds.example.com/after-garbage.xml") }))
        .send()
        .await
        .expect("reachable");
    assert_eq!(
        response.status(),
        201,
        "the command after the garbage is processed"
    );

    let consumer = topic_reader(
        &format!("{}-dlq-check", stack.prefix),
        &stack.topic("dead-letters.v1"),
    );
    let mut reasons = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while reasons.len() < 2 && Instant::now() < deadline {
        let Some(message) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let message = message.expect("no consumer error");
        let header = |name: &str| {
            message.headers().and_then(|h| {
                h.iter()
                    .find(|x| x.key == name)
                    .and_then(|x| x.value.map(|v| String::from_utf8_lossy(v).into_owned()))
            })
        };
        assert_eq!(message.key(), Some(&b"gina"[..]));
        assert!(
            header("balados.source").is_some_and(|s| s.starts_with(&stack.topic("commands.v1"))),
            "source header"
        );
        reasons.push(header("balados.reason").expect("a reason"));
    }
    assert_eq!(
        reasons.len(),
        2,
        "both malformed records dead-lettered: {reasons:?}"
    );
    assert!(reasons.iter().any(|r| r.contains("magic")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("schema")), "{reasons:?}");
}
