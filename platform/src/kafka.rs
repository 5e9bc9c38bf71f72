//! Kafka client configuration shared by every service, broker readiness, and topic
//! administration (create idempotently, verify partition counts).

use crate::settings::KafkaSettings;
use balados_schemas::topics::TopicSpec;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::types::RDKafkaErrorCode;
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
    let mut config = client_config(settings, client_id);
    config.set("acks", "all");
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

/// A consumer in a group: manual offsets, read_committed, short group timeouts (a fresh group
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

/// Logs an error a consumer's poll returned. Losing the broker is expected and librdkafka
/// reconnects by itself: those errors come by the dozen per second during an outage, so they are
/// debug-level (readiness and the lag metrics say the broker is gone); anything else is a warning.
pub fn log_consumer_error(component: &'static str, error: &rdkafka::error::KafkaError) {
    let transport = matches!(
        error.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::BrokerTransportFailure
                | RDKafkaErrorCode::AllBrokersDown
                | RDKafkaErrorCode::BrokerNotAvailable
        )
    );
    if transport {
        tracing::debug!(component, error = %error, "consumer: broker connection lost; reconnecting");
    } else {
        tracing::warn!(component, error = %error, "consumer error");
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TopicError {
    #[error("Kafka admin client: {0}")]
    Client(#[from] rdkafka::error::KafkaError),
    #[error("could not create topic {topic}: {reason}")]
    Create { topic: String, reason: String },
    #[error(
        "topic {topic} exists with {actual} partitions but {expected} are required \
         (commands, events and user-state must be co-partitioned); fix it with the partition-growth admin operation"
    )]
    PartitionMismatch {
        topic: String,
        expected: i32,
        actual: i32,
    },
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

/// Creates the topics that do not exist and checks the partition count of those that do.
pub async fn ensure_topics(
    settings: &KafkaSettings,
    specs: &[TopicSpec],
) -> Result<(), TopicError> {
    let admin: AdminClient<DefaultClientContext> =
        client_config(settings, "balados-admin").create()?;
    let new_topics: Vec<NewTopic<'_>> = specs
        .iter()
        .map(|spec| {
            spec.configs.iter().fold(
                NewTopic::new(&spec.name, spec.partitions, TopicReplication::Fixed(-1)),
                |topic, (k, v)| topic.set(k, v),
            )
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    for result in admin.create_topics(&new_topics, &options).await? {
        match result {
            Ok(name) => tracing::info!(kafka.topic = %name, "topic created"),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                return Err(TopicError::Create {
                    topic,
                    reason: code.to_string(),
                });
            }
        }
    }
    verify_partitions(settings, specs).await
}

async fn verify_partitions(
    settings: &KafkaSettings,
    specs: &[TopicSpec],
) -> Result<(), TopicError> {
    // Metadata of a just-created topic can lag behind; ask a few times before judging.
    let mut last_error = None;
    for _ in 0..20 {
        let s = settings.clone();
        let names: Vec<String> = specs.iter().map(|t| t.name.clone()).collect();
        let counts = tokio::task::spawn_blocking(move || partition_counts(&s, &names))
            .await
            .map_err(|e| TopicError::Create {
                topic: "*".into(),
                reason: e.to_string(),
            })??;
        last_error = None;
        for (spec, actual) in specs.iter().zip(counts) {
            if actual != spec.partitions {
                last_error = Some(TopicError::PartitionMismatch {
                    topic: spec.name.clone(),
                    expected: spec.partitions,
                    actual,
                });
            }
        }
        match &last_error {
            None => return Ok(()),
            Some(TopicError::PartitionMismatch { actual, .. }) if *actual > 0 => break,
            _ => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
    last_error.map_or(Ok(()), Err)
}

fn partition_counts(settings: &KafkaSettings, names: &[String]) -> Result<Vec<i32>, TopicError> {
    let consumer: BaseConsumer = client_config(settings, "balados-admin").create()?;
    let mut counts = Vec::with_capacity(names.len());
    for name in names {
        let metadata = consumer.fetch_metadata(Some(name), Duration::from_secs(10))?;
        let partitions = metadata
            .topics()
            .first()
            .map_or(0, |t| t.partitions().len());
        counts.push(i32::try_from(partitions).unwrap_or(i32::MAX));
    }
    Ok(counts)
}
