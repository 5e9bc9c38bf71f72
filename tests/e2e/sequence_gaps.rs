//! A sequence gap (events lost upstream) holds its user, not the partition: the user's later
//! writes are not applied over the hole, other users flow on, the gap is counted; an admin repair
//! rebuilds the user from the state records and releases them.

use crate::helpers::{
    Api, Stack, binary, eventually, feed_id, kafka_bootstrap, metrics, subscriptions,
};
use balados_schemas::{Contract, EventPayload, FeedUrl, Topics};
use rdkafka::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::json;
use std::time::Duration;

async fn subscribe(api: &Api, url: &str) {
    api.ok(
        "POST",
        "/subscriptions",
        Some(json!({ "rss_source_feed": feed_id(url) })),
        // The first subscription also creates the default collection and joins it.
        if url.ends_with("/1.xml") { 3 } else { 2 },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gap_holds_its_user_until_repaired_and_no_one_else() {
    let stack = Stack::start(true).await;
    let url = stack.server().url.clone();
    let (held, other) = (Api::new(&url, "gap-held"), Api::new(&url, "gap-other"));
    let feed = |n: u32| format!("https://gaps.example.com/{n}.xml");
    subscribe(&held, &feed(1)).await; // sequences 1..=3

    // An event from nowhere at sequence 10: 4..=9 are "lost".
    let codec = crate::helpers::codec(&stack, &[Contract::Event]).await;
    let stray = crate::helpers::event(
        "gap-held",
        10,
        EventPayload::Subscribed {
            feed: FeedUrl::parse(&feed(99)).expect("valid"),
            source_id: None,
            subscribed_at: chrono::Utc::now(),
        },
    );
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", kafka_bootstrap())
        .set("partitioner", "murmur2_random")
        .create()
        .expect("producer");
    let bytes = codec
        .encode(Contract::Event, stray.to_avro())
        .expect("encodes");
    producer
        .send(
            FutureRecord::to(&Topics::new(&stack.prefix).events)
                .key("gap-held")
                .payload(&bytes),
            Duration::from_secs(10),
        )
        .await
        .map_err(|(e, _)| e)
        .expect("produced");

    // The held user's next write is decided (sequences 4 and 5) but not applied over the hole;
    // another user's writes are.
    subscribe(&held, &feed(2)).await;
    subscribe(&other, &feed(1)).await;
    let other_sees = eventually(
        Duration::from_secs(30),
        "the other user's write",
        || async {
            let subs = subscriptions(&url, "gap-other").await;
            (subs.len() == 1).then_some(subs)
        },
    )
    .await;
    assert_eq!(other_sees, vec![feed_id(&feed(1))]);
    // The gap is counted, and the stray event and the two after it are held (the users may be
    // on different partitions: wait for the held user's own).
    eventually(
        Duration::from_secs(30),
        "the gap counted, 3 events held",
        || async {
            let metrics = metrics(&url).await;
            (metrics.contains("balados_materializer_sequence_gaps_total 1")
                && metrics.contains("balados_materializer_events_held_total 3"))
            .then_some(())
        },
    )
    .await;
    assert_eq!(
        subscriptions(&url, "gap-held").await,
        vec![feed_id(&feed(1))],
        "neither the stray event nor the write after it is applied"
    );

    // The repair takes the user's models from the state records and releases them.
    let out = std::process::Command::new(binary())
        .args(["admin", "repair-user", "--user", "gap-held"])
        .envs(stack.server_env())
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("at sequence 5") && stdout.contains("after sequence 3 (found 10)"),
        "{stdout}"
    );
    let mut expected = vec![feed_id(&feed(1)), feed_id(&feed(2))];
    expected.sort();
    assert_eq!(subscriptions(&url, "gap-held").await, expected);
    subscribe(&held, &feed(3)).await;
    expected.push(feed_id(&feed(3)));
    expected.sort();
    eventually(
        Duration::from_secs(30),
        "writes after the repair",
        || async { (subscriptions(&url, "gap-held").await == expected).then_some(()) },
    )
    .await;
}
