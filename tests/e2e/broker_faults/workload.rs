//! The broker fault test's workload and checks: writers that subscribe their user to one new feed
//! after another, a probe that writes until a write is decided, and a reader of every event.

use crate::helpers::{feed_id, token};
use balados_schemas::{Codec, Contract, EventEnvelope};
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::message::Message as _;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// How soon after a dependency returns a new write must be decided.
pub const RECOVERY: Duration = Duration::from_secs(60);

/// One user's writes: acknowledged commands (id -> feed id), and feeds whose request failed.
#[derive(Debug, Default)]
pub struct Writes {
    pub acked: BTreeMap<String, String>,
    pub unknown: HashSet<String>,
}

/// Subscribes `user` to one new feed after another until `stop`.
pub async fn write_stream(
    url: String,
    user: String,
    stop: Arc<AtomicBool>,
    writes: Arc<Mutex<Writes>>,
) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let auth = token(&user, 3600);
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let feed = feed_id(&format!("https://faults.example.com/{user}/{n}.xml"));
        let response = http
            .post(format!("{url}/api/v1/subscriptions"))
            .bearer_auth(&auth)
            .json(&serde_json::json!({ "rss_source_feed": feed }))
            .send()
            .await;
        let acked = match response {
            Ok(r) if r.status() == 202 => r
                .json::<serde_json::Value>()
                .await
                .ok()
                .and_then(|b| b["command_id"].as_str().map(str::to_owned)),
            _ => None,
        };
        let mut writes = writes.lock().await;
        match acked {
            Some(id) => {
                writes.acked.insert(id, feed);
            }
            None => {
                writes.unknown.insert(feed);
            }
        }
        drop(writes);
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
}

/// Writes with `Prefer: wait` until one is decided; returns how long it took.
pub async fn decided_write(url: &str, n: usize) -> Duration {
    let started = Instant::now();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .expect("client");
    let auth = token("faults-probe", 3600);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let feed = feed_id(&format!(
            "https://faults.example.com/probe/{n}/{attempt}.xml"
        ));
        let status = http
            .post(format!("{url}/api/v1/subscriptions"))
            .bearer_auth(&auth)
            .header("Prefer", "wait=5")
            .json(&serde_json::json!({ "rss_source_feed": feed }))
            .send()
            .await
            .map(|r| r.status().as_u16());
        if matches!(status, Ok(200 | 201)) {
            return started.elapsed();
        }
        if started.elapsed() >= RECOVERY {
            let ready = http.get(format!("{url}/readyz")).send().await;
            let ready = match ready {
                Ok(r) => r.text().await.unwrap_or_default(),
                Err(e) => e.to_string(),
            };
            panic!(
                "no write decided within {RECOVERY:?} of the dependency's return (last: {status:?}); \
                 /readyz: {ready}\n{}",
                crate::helpers::metrics(url).await
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Every event of `topic` (of `partitions`), by user and sequence, once all of `acked` have been seen and nothing
/// new arrived for a few seconds. Copies of one (user, sequence) must be identical.
pub async fn read_events(
    bootstrap: &str,
    (topic, partitions): (&str, i32),
    codec: &Codec,
    acked: &HashMap<uuid::Uuid, String>,
) -> BTreeMap<String, BTreeMap<u64, EventEnvelope>> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "faults-check")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .expect("tpl");
    }
    consumer.assign(&tpl).expect("assign");
    let mut events: BTreeMap<String, BTreeMap<u64, EventEnvelope>> = BTreeMap::new();
    let mut seen: HashSet<uuid::Uuid> = HashSet::new();
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut last = Instant::now();
    while Instant::now() < deadline
        && (seen.len() < acked.len() || last.elapsed() < Duration::from_secs(5))
    {
        let Some(message) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let message = message.expect("no consumer error");
        last = Instant::now();
        let value = codec
            .decode(Contract::Event, message.payload().expect("value"))
            .await
            .expect("decodes");
        let event = EventEnvelope::from_avro(value).expect("an event");
        if acked.contains_key(&event.command_id) {
            seen.insert(event.command_id);
        }
        let user_events = events.entry(event.user_id.as_str().to_owned()).or_default();
        if let Some(copy) = user_events.get(&event.sequence) {
            assert_eq!(copy, &event, "two different events with one sequence");
        } else {
            user_events.insert(event.sequence, event);
        }
    }
    events
}
