//! On restore, the aggregator checks that the events its state stands on exist: a meta record that
//! names an event the events topic does not hold (as a broker that lost acknowledged records would
//! leave it) is reported and counted; a state record that cannot be read is skipped and counted,
//! and the partition goes on.

use crate::helpers::{Api, Stack, feed_id, kafka_bootstrap, metrics};
use balados_schemas::{Contract, StateEntity, StateKey, Topics, UserId, UserStateRecord};
use rdkafka::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_state_whose_events_are_missing_is_reported() {
    let mut stack = Stack::start(true).await;
    let api = Api::new(&stack.server().url, "restore-checked");
    let feed = |n: u32| json!({ "rss_source_feed": feed_id(&format!("https://check.example.com/{n}.xml")) });
    let answer = api.ok("POST", "/subscriptions", Some(feed(1)), 3).await;
    // v1.{partition}.{offset just past the command's events}
    let token = answer["consistency_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let mut parts = token.split('.').skip(1);
    let partition: i32 = parts
        .next()
        .and_then(|p| p.parse().ok())
        .expect("partition");
    let next: i64 = parts.next().and_then(|o| o.parse().ok()).expect("offset");

    // The user's meta record, as if the broker had lost their events 4..=9: the state says the
    // user's last event is sequence 9, at the offset where sequence 3 really is.
    let codec = crate::helpers::codec(&stack, &[Contract::UserState]).await;
    let user = UserId::parse("restore-checked").expect("valid");
    let forged = UserStateRecord {
        user_id: user.clone(),
        source_offset: 0,
        entity: StateEntity::Meta {
            sync_position: 0,
            sequence: 9,
            recent_commands: vec![],
            events_offset: Some(next - 1),
            deleted: false,
        },
    };
    let bytes = codec
        .encode(Contract::UserState, forged.to_avro())
        .expect("encodes");
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", kafka_bootstrap())
        .create()
        .expect("producer");
    producer
        .send(
            FutureRecord::to(&Topics::new(&stack.prefix).user_state)
                .partition(partition)
                .key(&StateKey::Meta(user).encode())
                .payload(&bytes),
            Duration::from_secs(10),
        )
        .await
        .map_err(|(e, _)| e)
        .expect("produced");

    // And a record nobody can read (a malformed value under a valid key): skipped and counted,
    // never a stop of the partition.
    let garbage_key = format!(
        "restore-checked/sub/{}",
        feed_id("https://check.example.com/garbage.xml")
    );
    producer
        .send(
            FutureRecord::to(&Topics::new(&stack.prefix).user_state)
                .partition(partition)
                .key(&garbage_key)
                .payload(&b"not avro at all"[..]),
            Duration::from_secs(10),
        )
        .await
        .map_err(|(e, _)| e)
        .expect("produced");

    // A new process restores the partition on the user's next command.
    stack.server.take().expect("running").kill();
    stack.start_server(&[]).await;
    let api = Api::new(&stack.server().url, "restore-checked");
    api.ok("POST", "/subscriptions", Some(feed(2)), 2).await;
    let metrics = metrics(&stack.server().url).await;
    assert!(
        metrics.contains("balados_aggregator_missing_events_total 1"),
        "the missing event is counted:\n{metrics}"
    );
    assert!(
        metrics.contains("balados_aggregator_undecodable_state_total 1"),
        "the unreadable record is skipped and counted:\n{metrics}"
    );
}
