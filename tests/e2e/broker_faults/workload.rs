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

/// One user's writes: acknowledged commands (id -> feed id), feeds whose request failed, and the
/// answers that were server errors (5xx).
#[derive(Debug, Default)]
pub struct Writes {
    pub acked: BTreeMap<String, String>,
    pub unknown: HashSet<String>,
    pub server_errors: Vec<u16>,
}

/// Subscribes `user` to one new feed after another until `stop`.
pub async fn write_stream(
    url: String,
    user: String,
    stop: Arc<AtomicBool>,
    writes: Arc<Mutex<Writes>>,
) {
    write_stream_balanced(vec![url], user, stop, writes).await;
}

/// As [`write_stream`], through several instances as a load balancer would: each write goes to the
/// next instance, and to the one after it when the connection is refused (an instance restarting).
pub async fn write_stream_balanced(
    urls: Vec<String>,
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
        let mut response = None;
        for attempt in 0..urls.len() {
            let url = &urls[(n + attempt) % urls.len()];
            let sent = http
                .post(format!("{url}/api/v1/subscriptions"))
                .bearer_auth(&auth)
                .json(&serde_json::json!({ "rss_source_feed": feed }))
                .send()
                .await;
            match sent {
                Err(e) if e.is_connect() => continue,
                other => {
                    response = Some(other);
                    break;
                }
            }
        }
        let status = match &response {
            Some(Ok(r)) => Some(r.status().as_u16()),
            _ => None,
        };
        let acked = match response {
            Some(Ok(r)) if r.status() == 202 => r
                .json::<serde_json::Value>()
                .await
                .ok()
                .and_then(|b| b["command_id"].as_str().map(str::to_owned)),
            _ => None,
        };
        let mut writes = writes.lock().await;
        if let Some(code) = status.filter(|s| *s >= 500) {
            writes.server_errors.push(code);
        }
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

/// Waits until every acknowledged subscription of each user is visible (and nothing nobody asked
/// for), read through the first of `urls`; the number of acknowledged writes. A failure reports
/// what every instance's pipeline did and the end of the logs in `logs` (CI keeps only the test's
/// output).
pub async fn every_acknowledged_write_visible(
    urls: &[&str],
    users: &[(String, Arc<Mutex<Writes>>)],
    logs: &std::path::Path,
) -> usize {
    let url = urls[0];
    let http = reqwest::Client::new();
    let mut acked_total = 0;
    for (user, writes) in users {
        let writes = writes.lock().await;
        acked_total += writes.acked.len();
        let auth = token(user, 600);
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            let body: serde_json::Value = http
                .get(format!("{url}/api/v1/subscriptions"))
                .bearer_auth(&auth)
                .send()
                .await
                .expect("query API")
                .json()
                .await
                .expect("json");
            let visible: HashSet<&str> = body["subscriptions"]
                .as_array()
                .expect("array")
                .iter()
                .filter_map(|s| s["rss_source_feed"].as_str())
                .collect();
            let missing = writes
                .acked
                .values()
                .filter(|f| !visible.contains(f.as_str()))
                .count();
            let foreign = visible
                .iter()
                .filter(|f| {
                    !writes.unknown.contains(**f) && !writes.acked.values().any(|a| a == *f)
                })
                .count();
            assert_eq!(foreign, 0, "{user}: subscriptions nobody asked for");
            if missing == 0 {
                break;
            }
            if Instant::now() >= deadline {
                panic!(
                    "{user}: {missing} of {} acknowledged subscriptions never became visible\n{}",
                    writes.acked.len(),
                    pipeline_report(urls, logs).await
                );
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    acked_total
}

/// What the pipeline of each instance at `urls` says (its aggregator's and materializers' metrics,
/// histograms aside) and the last lines of each log in `logs`.
async fn pipeline_report(urls: &[&str], logs: &std::path::Path) -> String {
    const TAIL: usize = 20;
    let mut report = String::new();
    for url in urls {
        let metrics = match reqwest::get(format!("{url}/metrics")).await {
            Ok(r) => r.text().await.unwrap_or_default(),
            Err(e) => e.to_string(),
        };
        report.push_str(&format!("== {url}/metrics (pipeline)\n"));
        for line in metrics.lines().filter(|l| {
            (l.starts_with("balados_aggregator_") || l.starts_with("balados_materializer_"))
                && !l.contains("_bucket{")
        }) {
            report.push_str(line);
            report.push('\n');
        }
    }
    let mut files: Vec<_> = std::fs::read_dir(logs)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    files.sort();
    for file in files {
        let log = std::fs::read_to_string(&file).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        report.push_str(&format!("== the end of {}\n", file.display()));
        for line in &lines[lines.len().saturating_sub(TAIL)..] {
            report.push_str(line);
            report.push('\n');
        }
    }
    report
}

/// Every acknowledged subscription decided once, in per-user event sequences without gap, as the
/// `events` topic of `prefix` (of `partitions`) holds them, decoded with the registry's schemas.
pub async fn decided_once_without_gaps(
    (bootstrap, registry_url): (&str, &str),
    (prefix, partitions): (&str, i32),
    users: &[(String, Arc<Mutex<Writes>>)],
) {
    let topics = balados_schemas::Topics::new(prefix);
    let codec = Codec::connect(
        balados_schemas::registry_client::RegistryClient::new(registry_url).expect("url"),
        &topics,
        &[],
        false,
    )
    .await
    .expect("codec");
    let events_topic = (topics.events.as_str(), partitions);
    let mut acked: HashMap<uuid::Uuid, String> = HashMap::new();
    for (_, writes) in users {
        for (id, feed) in &writes.lock().await.acked {
            acked.insert(id.parse().expect("uuid"), feed.clone());
        }
    }
    let events = read_events(bootstrap, events_topic, &codec, &acked).await;
    for (u, sequences) in &events {
        let max = *sequences.keys().last().expect("events");
        assert_eq!(
            sequences.len() as u64,
            max,
            "{u}: the event sequence has gaps (1..={max}, {} present)",
            sequences.len()
        );
    }
    let mut decided: HashMap<uuid::Uuid, u64> = HashMap::new();
    for event in events.values().flat_map(BTreeMap::values) {
        if let balados_schemas::EventPayload::Subscribed { .. } = event.payload {
            let previous = decided.insert(event.command_id, event.sequence);
            assert!(
                previous.is_none_or(|p| p == event.sequence),
                "command {} decided twice (sequences {previous:?} and {})",
                event.command_id,
                event.sequence
            );
        }
    }
    let undecided = acked.keys().filter(|id| !decided.contains_key(id)).count();
    assert_eq!(undecided, 0, "acknowledged commands without their event");
}
