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
