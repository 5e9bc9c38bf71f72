//! Events the materializer cannot apply are quarantined with their reason and position, and the
//! partition goes on: one that cannot be decoded, and one PostgreSQL refuses (a NUL byte in a
//! text), each followed by a good event of the same user.

use crate::helpers::{Stack, eventually, kafka_bootstrap};
use balados_schemas::{Contract, EventEnvelope, EventPayload, FeedUrl, Topics, UserId};
use rdkafka::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use std::time::Duration;

fn event(sequence: u64, payload: EventPayload) -> EventEnvelope {
    let now = chrono::Utc::now();
    EventEnvelope {
        event_id: uuid::Uuid::new_v4(),
        command_id: uuid::Uuid::new_v4(),
        user_id: UserId::parse("quinn").expect("valid"),
        sequence,
        occurred_at: now,
        recorded_at: now,
        app_id: None,
        device_id: None,
        device_name: None,
        payload,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unappliable_events_are_quarantined_and_the_partition_goes_on() {
    let stack = Stack::start(true).await;
    let topics = Topics::new(&stack.prefix);
    let codec = crate::helpers::codec(&stack, &[Contract::Event]).await;
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", kafka_bootstrap())
        .set("partitioner", "murmur2_random")
        .create()
        .expect("producer");
    let feed = FeedUrl::parse("https://feeds.example.com/quarantine.xml").expect("valid");
    let refused = event(
        1,
        EventPayload::DeviceUpserted {
            device_id: "phone".to_owned(),
            caption: Some("nul \u{0} byte".to_owned()),
            kind: None,
        },
    );
    let good = event(
        2,
        EventPayload::Subscribed {
            feed: feed.clone(),
            source_id: None,
            subscribed_at: chrono::Utc::now(),
        },
    );
    let mut values = vec![b"not avro at all".to_vec()];
    for e in [&refused, &good] {
        values.push(codec.encode(Contract::Event, e.to_avro()).expect("encodes"));
    }
    for value in &values {
        let record = FutureRecord::to(&topics.events).key("quinn").payload(value);
        producer
            .send(record, Duration::from_secs(10))
            .await
            .map_err(|(e, _)| e)
            .expect("produced");
    }

    let pool = sqlx::PgPool::connect(&stack.database_url)
        .await
        .expect("database");
    eventually(
        Duration::from_secs(30),
        "the good event applied",
        || async {
            let (n,): (i64,) = sqlx::query_as(
                "SELECT count(*) FROM users.subscriptions WHERE user_id = 'quinn' AND feed_id = $1",
            )
            .bind(feed.id())
            .fetch_one(&pool)
            .await
            .expect("query");
            (n == 1).then_some(())
        },
    )
    .await;
    let quarantined: Vec<(i64, String, bool)> = sqlx::query_as(
        "SELECT \"offset\", reason, payload IS NOT NULL FROM materializer.quarantine ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .expect("quarantine");
    assert_eq!(quarantined.len(), 2, "{quarantined:?}");
    assert!(
        quarantined.iter().all(|(_, _, payload)| *payload),
        "kept with their bytes: {quarantined:?}"
    );
    assert!(
        quarantined[1].1.contains("refused by PostgreSQL"),
        "{quarantined:?}"
    );
    let (devices,): (i64,) = sqlx::query_as("SELECT count(*) FROM users.devices")
        .fetch_one(&pool)
        .await
        .expect("devices");
    assert_eq!(devices, 0, "the refused event is not half-applied");
}

/// A subscription to a feed URL the API accepts (2,040 bytes, under its 2,048) makes keys over
/// PostgreSQL's btree limit (SQLSTATE 54000, not a data exception): its events are quarantined,
/// and the user's next write is applied after them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_over_the_index_limit_is_quarantined_and_the_user_goes_on() {
    let stack = Stack::start(true).await;
    let url = stack.server().url.clone();
    let api = crate::helpers::Api::new(&url, "long-url");
    // Characters that do not compress (PostgreSQL would otherwise fit a repetitive key).
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let path: String = (0..2040 - "https://e.com/".len())
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[(x % 36) as usize])
        })
        .collect();
    let long = format!("https://e.com/{path}");
    let subscribe =
        |feed: &str| serde_json::json!({ "rss_source_feed": crate::helpers::feed_id(feed) });
    api.ok("POST", "/subscriptions", Some(subscribe(&long)), 3)
        .await;
    let short = "https://feeds.example.com/after-the-long-one.xml";
    api.ok("POST", "/subscriptions", Some(subscribe(short)), 2)
        .await;
    eventually(
        Duration::from_secs(30),
        "the next write applied",
        || async {
            let subs = crate::helpers::subscriptions(&url, "long-url").await;
            (subs == vec![crate::helpers::feed_id(short)]).then_some(())
        },
    )
    .await;
    let pool = sqlx::PgPool::connect(&stack.database_url)
        .await
        .expect("database");
    let reasons: Vec<(String,)> = sqlx::query_as("SELECT reason FROM materializer.quarantine")
        .fetch_all(&pool)
        .await
        .expect("quarantine");
    assert!(
        !reasons.is_empty()
            && reasons
                .iter()
                .all(|(r,)| r.contains("refused by PostgreSQL")),
        "{reasons:?}"
    );
}
