//! Kafka, written once for every service: client, producer and consumer configuration and
//! broker readiness here; topic administration (`topics`); what to do about an error (`errors`);
//! reading a partition whole to a marker (`reader`); committed offsets and the rule that skips
//! state records of uncommitted work (`committed`); the group consumers' rebalance context
//! (`rebalance`) and batch poller (`poll`); the aggregator's instance id (`instance`); what the
//! operator's tools read (`inspect`, `groups`) and a key's partition (`partitioner`).

pub mod committed;
pub mod errors;
pub mod groups;
pub mod inspect;
pub mod instance;
pub mod partitioner;
pub mod poll;
pub mod reader;
pub mod rebalance;
mod topics;

pub use errors::log_consumer_error;
pub use topics::{TopicError, ensure_topics};

use crate::settings::KafkaSettings;
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use std::time::Duration;

/// The settings every client shares. `murmur2_random` is Java's partitioner: producers in other
/// languages agree with us on the partition of a user id. Reconnections back off to at most 1 s
/// (Java's default; librdkafka's is 10 s): after a broker restart, every hop of the pipeline —
/// ingest producer, aggregator, materializer, the outcome's way back — would otherwise wait out its
/// own back-off, and a write took up to ~26 s to be decided (measured by the broker fault test).
pub fn client_config(settings: &KafkaSettings, client_id: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &settings.bootstrap)
        .set("client.id", client_id)
        .set("partitioner", "murmur2_random")
        .set("reconnect.backoff.max.ms", "1000");
    for (key, value) in &settings.client {
        config.set(key, value);
    }
    config
}

/// A producer that waits for every in-sync replica (`acks=all`). With `kafka.idempotence` (the
/// default, and what transactions need) the broker drops the duplicates of retried batches. Without
/// it — on a broker whose idempotence loses acknowledged records across its own restart
/// (docs/broker-compatibility.md) — one request is in flight per connection, so that a retry can
/// duplicate a record but never reorder one: every consumer drops duplicates by per-user sequence
/// or command id, and none would survive a reordering.
pub fn producer_config(settings: &KafkaSettings, client_id: &str) -> ClientConfig {
    tuned_producer_config(settings, client_id, &[])
}

/// `producer_config` with a component's own defaults (`linger.ms`, …), which the operator's
/// `[kafka.client]` properties still override: a broker's best batching is found by measuring.
pub fn tuned_producer_config(
    settings: &KafkaSettings,
    client_id: &str,
    defaults: &[(&str, &str)],
) -> ClientConfig {
    let mut config = client_config(settings, client_id);
    // Writes come one by one from many clients, and each produce request costs the broker a batch
    // to store and to list again on every fetch: at 2,000 writes/s on tansu the machine was 59 %
    // busy with 10 ms against 74 % with 5 ms (librdkafka's default) and 98 % with 0, where one
    // producer's broker thread alone took a third of a core (bench/README.md §8b).
    config.set("acks", "all").set("linger.ms", "10");
    for (key, value) in defaults {
        config.set(*key, *value);
    }
    if settings.idempotence {
        config.set("enable.idempotence", "true");
    } else {
        config
            .set("enable.idempotence", "false")
            .set("max.in.flight.requests.per.connection", "1");
    }
    // Extra client properties win, as in every other client.
    for (key, value) in &settings.client {
        config.set(key, value);
    }
    config
}

/// The isolation level of every consumer. read_committed hides aborted transactions on Kafka;
/// correctness never needs it (replays are dropped by sequence). Without idempotence there are no
/// transactions to hide, and read_uncommitted cannot be stalled by a transaction left open on a
/// broker that never expires it (tansu, where one left by an earlier transactional run would stop
/// every reader of its partitions).
pub fn isolation_level(settings: &KafkaSettings) -> &'static str {
    if settings.idempotence {
        "read_committed"
    } else {
        "read_uncommitted"
    }
}

/// A consumer in a group: manual offsets, the isolation level above, short group timeouts (a fresh group
/// otherwise waits tens of seconds for its assignment on some brokers).
pub fn group_consumer_config(
    settings: &KafkaSettings,
    client_id: &str,
    group: &str,
) -> ClientConfig {
    let mut config = client_config(settings, client_id);
    config
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("isolation.level", isolation_level(settings))
        .set("fetch.wait.max.ms", settings.fetch_wait_max_ms.to_string())
        .set(
            "session.timeout.ms",
            settings.session_timeout_ms.to_string(),
        )
        .set(
            "heartbeat.interval.ms",
            (settings.session_timeout_ms / 10).max(500).to_string(),
        );
    if !settings.group_instance_id.is_empty() {
        config.set(
            "group.instance.id",
            format!("{group}.{}", settings.group_instance_id),
        );
    }
    config
}

/// Fetches metadata once; Ok when the broker answers.
pub fn probe_broker(
    settings: &KafkaSettings,
    timeout: Duration,
) -> Result<usize, rdkafka::error::KafkaError> {
    let consumer: BaseConsumer = client_config(settings, "balados-probe").create()?;
    let metadata = consumer.fetch_metadata(None, timeout)?;
    Ok(metadata.brokers().len())
}

/// Waits until the broker answers, saying every few seconds what is missing.
pub async fn wait_for_broker(settings: &KafkaSettings) {
    let mut delay = Duration::from_millis(500);
    loop {
        let s = settings.clone();
        let probe =
            tokio::task::spawn_blocking(move || probe_broker(&s, Duration::from_secs(5))).await;
        match probe {
            Ok(Ok(_)) => return,
            Ok(Err(e)) => tracing::warn!(
                kafka.bootstrap = %settings.bootstrap,
                error = %e,
                retry_in_ms = delay.as_millis() as u64,
                "Kafka broker unreachable (setting kafka.bootstrap); retrying"
            ),
            Err(e) => tracing::warn!(error = %e, "broker probe task failed; retrying"),
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(10));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(client: &[(&str, &str)]) -> KafkaSettings {
        let mut settings = crate::Settings::load_from(None, Vec::new())
            .expect("defaults")
            .kafka;
        settings.client = client
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        settings
    }

    #[test]
    fn a_producer_lingers_10_ms_unless_its_component_or_the_operator_says_otherwise() {
        let plain = producer_config(&settings(&[]), "p");
        assert_eq!(plain.get("linger.ms"), Some("10"));
        assert_eq!(plain.get("acks"), Some("all"));
        let tuned = tuned_producer_config(&settings(&[]), "p", &[("linger.ms", "3")]);
        assert_eq!(tuned.get("linger.ms"), Some("3"));
        let operator = tuned_producer_config(
            &settings(&[("linger.ms", "50")]),
            "p",
            &[("linger.ms", "3"), ("retry.backoff.ms", "10")],
        );
        assert_eq!(operator.get("linger.ms"), Some("50"));
        assert_eq!(operator.get("retry.backoff.ms"), Some("10"));
    }
}
