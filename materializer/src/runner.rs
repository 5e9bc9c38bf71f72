//! The consumer loop.
//!
//! Delivery guarantee: exactly-once in effect into PostgreSQL. Events are read from `events`
//! (group `{prefix}.materializer`, read_committed; read_uncommitted when the producers do not use
//! transactions, see `kafka::isolation_level`). The offsets that count are the ones stored in
//! PostgreSQL in the same transaction as the rows (next offset = last applied + 1); on
//! (re)assignment each partition resumes from them, whatever the group's committed offsets say.
//! The group offsets are committed afterwards, asynchronously, only so that lag tools see
//! progress. Replays (redeliveries, or copies from aborted transactions on brokers that show
//! them) are dropped by per-user sequence, so applying any event any number of times leaves the
//! same rows.

use crate::refused::Origin;
use crate::sink::{Quarantined, stored_offsets};
use crate::writers::{Context, QUARANTINED, SEQUENCE_GAPS, Writers};
use balados_platform::Settings;
use balados_platform::kafka::poll::{Batching, recv_batch};
use balados_platform::kafka::rebalance::{GroupContext, LagFrom};
use balados_platform::metrics::Metrics;
use balados_platform::readiness::Readiness;
use balados_schemas::{Codec, Contract, EventEnvelope};
use chrono::TimeDelta;
use rdkafka::consumer::{CommitMode, Consumer as _, StreamConsumer};
use rdkafka::message::{Message as _, OwnedMessage};
use rdkafka::{Offset, TopicPartitionList};
use sqlx::PgPool;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How long the loop waits for a first record before looking at its assignment again.
const IDLE_PASS: Duration = Duration::from_millis(500);

/// The readiness component: ready once the group has given this instance its partitions.
pub const READINESS: &str = "materializer";

/// How often librdkafka reports its statistics, the source of the consumer lag metric.
const STATISTICS_INTERVAL_MS: &str = "5000";

/// A batch: what arrives within `materializer.batch_interval_ms` of the first record, at most
/// `materializer.batch_max`; empty when nothing arrives for a while, so that the loop still sees
/// new assignments.
pub(crate) fn batching(settings: &Settings) -> Batching {
    Batching {
        max: settings.materializer.batch_max,
        first_wait: IDLE_PASS,
        window: Duration::from_millis(settings.materializer.batch_interval_ms),
        pause: Duration::from_millis(2),
    }
}

/// The materializers' consumer group, also their name in `materializer.offsets`.
pub fn group(settings: &Settings) -> String {
    format!("{}.materializer", settings.kafka.topic_prefix)
}

pub async fn run(
    settings: Settings,
    pool: PgPool,
    codec: Codec,
    metrics: Metrics,
    readiness: Readiness,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let topic = settings.topics().events;
    let group = group(&settings);
    let consumer: StreamConsumer<GroupContext> = balados_platform::kafka::group_consumer_config(
        &settings.kafka,
        "balados-materializer",
        &group,
    )
    .set("statistics.interval.ms", STATISTICS_INTERVAL_MS)
    .create_with_context(
        GroupContext::new(READINESS, readiness)
            .with_rebalance_metric(metrics.clone())
            .with_lag_metric(
                metrics.clone(),
                LagFrom::Committed,
                "balados_materializer_consumer_lag",
                "Events not yet read by this materializer, per assigned partition.",
            ),
    )?;
    consumer.subscribe(&[&topic])?;
    // At zero before the first batch, which may be the one that quarantines or finds a gap: an
    // alert on their increase then sees it (a series that appears at 1 has no increase).
    metrics.count(SEQUENCE_GAPS, &[], 0.0);
    metrics.count(QUARANTINED, &[], 0.0);
    let batching = batching(&settings);
    let grace = TimeDelta::hours(i64::from(settings.materializer.popularity_grace_hours));
    // Next offset to apply per partition, loaded from PostgreSQL on first sight after assignment.
    let mut next: HashMap<i32, i64> = HashMap::new();
    tracing::info!(kafka.group = %group, "materializer started");
    let mut writers = Writers::start(
        settings.materializer.writers,
        Context {
            pool: pool.clone(),
            group: group.clone(),
            topic: topic.clone(),
            grace,
            batch_max: settings.materializer.batch_max,
            metrics: metrics.clone(),
            readiness: consumer.context().readiness().clone(),
            shutdown: shutdown.clone(),
        },
    );
    'consume: loop {
        let batch = tokio::select! {
            batch = recv_batch(&consumer, &batching, "materializer") => batch,
            _ = shutdown.changed() => break,
        };
        let mut rewound = BTreeSet::new();
        for partition in consumer.context().take_revoked() {
            next.remove(&partition);
        }
        let assigned = assigned_partitions(&consumer, &topic);
        let missing: BTreeSet<i32> = assigned
            .iter()
            .copied()
            .chain(batch.iter().map(|m| m.partition()))
            .filter(|p| !next.contains_key(p))
            .collect();
        if !missing.is_empty() {
            let stored = loop {
                match stored_offsets(&pool, &group, &topic).await {
                    Ok(stored) => break stored,
                    Err(e) => {
                        consumer
                            .context()
                            .readiness()
                            .awaiting(READINESS, "postgresql");
                        tracing::warn!(error = %e, "reading stored offsets from PostgreSQL failed; retrying")
                    }
                }
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = shutdown.changed() => return Ok(()),
                }
            };
            for p in missing {
                let resume = stored.get(&p).copied().unwrap_or(0);
                let first = batch
                    .iter()
                    .find(|m| m.partition() == p)
                    .map(|m| m.offset());
                if first == Some(resume) {
                    next.insert(p, resume);
                    continue;
                }
                // Whatever the group's offsets say, PostgreSQL's are the truth: skip what it
                // holds, or go back to what it lacks (e.g. restored from a backup). The batch's
                // records of this partition are dropped; they come again after the seek.
                match consumer.seek(&topic, p, Offset::Offset(resume), Duration::from_secs(10)) {
                    Ok(()) => {
                        next.insert(p, resume);
                        rewound.insert(p);
                    }
                    Err(_) if first.is_some_and(|f| f < resume) => {
                        // Reading from before PostgreSQL's offset: what it holds is filtered out.
                        next.insert(p, resume);
                    }
                    Err(e) => {
                        // Retried on the next pass; nothing of this partition is applied before.
                        tracing::warn!(error = %e, kafka.partition = p, "seek to the stored offset failed; retrying");
                    }
                }
            }
        }
        let usable = |m: &&OwnedMessage| {
            !rewound.contains(&m.partition())
                && next.get(&m.partition()).is_some_and(|n| m.offset() >= *n)
        };
        let started = Instant::now();
        let mut decoded = Vec::with_capacity(batch.len());
        let mut quarantined = Vec::new();
        let mut reached: BTreeMap<i32, i64> = BTreeMap::new();
        for message in batch.iter().filter(usable) {
            reached.insert(message.partition(), message.offset() + 1);
            match decode(&codec, message).await {
                Ok(event) => decoded.push((
                    event,
                    Origin {
                        partition: message.partition(),
                        offset: message.offset(),
                        payload: message.payload().map(<[u8]>::to_vec),
                    },
                )),
                Err(reason) => {
                    tracing::warn!(
                        kafka.partition = message.partition(),
                        kafka.offset = message.offset(),
                        reason,
                        "event quarantined"
                    );
                    quarantined.push(Quarantined {
                        partition: message.partition(),
                        offset: message.offset(),
                        reason,
                        payload: message.payload().map(<[u8]>::to_vec),
                        stepped_over: None,
                    });
                }
            }
        }
        for reached in writers.written() {
            commit_group_offsets(&consumer, &topic, &reached);
        }
        if reached.is_empty() {
            continue;
        }
        // Queued parts are written (or the process stops first, their offsets unstored): what a
        // later batch of the partition holds is filtered from here on.
        next.extend(reached.iter().map(|(p, o)| (*p, *o)));
        for (lane, part) in crate::lanes::split(writers.count(), decoded, quarantined, &reached) {
            tokio::select! {
                queued = writers.queue(lane, part) => queued?,
                _ = shutdown.changed() => break 'consume,
            }
        }
        tracing::debug!(
            batch.size = batch.len(),
            duration_ms = started.elapsed().as_millis() as u64,
            "batch queued"
        );
    }
    writers.finish().await;
    tracing::info!("materializer stopping");
    consumer.unsubscribe();
    Ok(())
}

fn commit_group_offsets(
    consumer: &StreamConsumer<GroupContext>,
    topic: &str,
    reached: &BTreeMap<i32, i64>,
) {
    let mut tpl = TopicPartitionList::new();
    for (partition, offset) in reached {
        let _ = tpl.add_partition_offset(topic, *partition, Offset::Offset(*offset));
    }
    if let Err(e) = consumer.commit(&tpl, CommitMode::Async) {
        tracing::debug!(error = %e, "informational group offset commit failed");
    }
}

async fn decode(codec: &Codec, message: &OwnedMessage) -> Result<EventEnvelope, String> {
    let bytes = message.payload().ok_or("empty value")?;
    let value = crate::decode::decode_waiting(codec, Contract::Event, bytes).await?;
    EventEnvelope::from_avro(value).map_err(|e| e.to_string())
}

/// The partitions of `topic` assigned to this instance now.
fn assigned_partitions(consumer: &StreamConsumer<GroupContext>, topic: &str) -> Vec<i32> {
    consumer.assignment().map_or_else(
        |_| Vec::new(),
        |tpl| {
            tpl.elements_for_topic(topic)
                .iter()
                .map(|e| e.partition())
                .collect()
        },
    )
}
