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

use crate::refused::{Origin, refused_data, write_one_by_one};
use crate::sink::{Batch, Quarantined, stored_offsets, write_batch};
use balados_platform::Settings;
use balados_platform::kafka::poll::{Batching, recv_batch};
use balados_platform::kafka::rebalance::{GroupContext, LagFrom};
use balados_platform::metrics::{Counter, Metrics};
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

const SEQUENCE_GAPS: Counter = Counter {
    name: "balados_materializer_sequence_gaps_total",
    help: "Users whose event sequence jumped (events missing upstream); each is held until repaired.",
};
const QUARANTINED: Counter = Counter {
    name: "balados_materializer_quarantined_total",
    help: "Events quarantined.",
};

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
    loop {
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
        if reached.is_empty() {
            continue;
        }
        let (events, origins): (Vec<EventEnvelope>, Vec<Origin>) = decoded.into_iter().unzip();
        let batch = Batch {
            events: &events,
            quarantined: &quarantined,
            next_offsets: &reached,
        };
        let written = write_with_retry(
            (consumer.context().readiness(), &metrics),
            &pool,
            (&group, &topic),
            (batch, &origins),
            grace,
            &mut shutdown,
        )
        .await;
        let Some((changes, refused)) = written else {
            break;
        };
        next.extend(reached.iter().map(|(p, o)| (*p, *o)));
        report_gaps(&metrics, &changes, &origins);
        record_metrics(&metrics, &changes, &events, quarantined.len() + refused);
        tracing::debug!(
            batch.size = events.len(),
            duration_ms = started.elapsed().as_millis() as u64,
            "batch materialized"
        );
        commit_group_offsets(&consumer, &topic, &reached);
    }
    tracing::info!("materializer stopping");
    consumer.unsubscribe();
    Ok(())
}

/// PostgreSQL errors are retried with back-off: the batch is never dropped. A batch whose data
/// PostgreSQL refuses is written one event at a time (see `refused`). Returns what was applied
/// and how many events were quarantined on the way.
async fn write_with_retry(
    (readiness, metrics): (&Readiness, &Metrics),
    pool: &PgPool,
    names: (&str, &str),
    (batch, origins): (Batch<'_>, &[Origin]),
    grace: TimeDelta,
    shutdown: &mut watch::Receiver<bool>,
) -> Option<(crate::apply::BatchChanges, usize)> {
    let mut delay = Duration::from_millis(200);
    let mut split = false;
    loop {
        let written = if split {
            write_one_by_one(pool, names, batch, origins, grace).await
        } else {
            write_batch(pool, names.0, names.1, batch, grace)
                .await
                .map(|changes| (changes, 0))
        };
        match written {
            Ok(written) => {
                readiness.resolved(READINESS);
                return Some(written);
            }
            Err(e) if !split && refused_data(&e) => {
                tracing::warn!(error = %e, "PostgreSQL refused a batch's data; writing it event by event");
                count_failure(metrics, "refused_data");
                split = true;
                continue;
            }
            Err(e) => {
                count_failure(metrics, "postgresql");
                readiness.awaiting(READINESS, "postgresql");
                tracing::warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "writing a batch to PostgreSQL failed; retrying")
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown.changed() => return None,
        }
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

/// A poison batch (PostgreSQL refused its data: split, and the culprit quarantined) against an
/// outage (retried with back-off as it is).
fn count_failure(metrics: &Metrics, cause: &str) {
    metrics.add(
        "balados_materializer_write_failures_total",
        "Batch writes that failed, by cause: refused_data (split, the culprit quarantined) or postgresql (retried).",
        &[("cause", cause)],
        1.0,
    );
}

/// Each gap once, when it is found (its user is then held, so it is not found again).
fn report_gaps(metrics: &Metrics, changes: &crate::apply::BatchChanges, origins: &[Origin]) {
    for gap in &changes.gaps {
        let origin = origins.get(gap.index);
        tracing::error!(
            user.id = %gap.user,
            sequence.applied = gap.applied,
            sequence.found = gap.found,
            kafka.partition = origin.map(|o| o.partition),
            kafka.offset = origin.map(|o| o.offset),
            "event sequence gap: events are missing upstream; this user's read models are held \
             until `balados admin repair-user` rebuilds them from the state records"
        );
    }
    metrics.count(SEQUENCE_GAPS, &[], changes.gaps.len() as f64);
    metrics.add(
        "balados_materializer_events_held_total",
        "Events not applied because their user is held at a sequence gap.",
        &[],
        changes.held as f64,
    );
}

fn record_metrics(
    metrics: &Metrics,
    changes: &crate::apply::BatchChanges,
    events: &[EventEnvelope],
    quarantined: usize,
) {
    metrics.add(
        "balados_materializer_events_applied_total",
        "Events applied to read models.",
        &[],
        changes.applied as f64,
    );
    metrics.add(
        "balados_materializer_events_replayed_total",
        "Replayed events dropped by sequence.",
        &[],
        changes.replays as f64,
    );
    metrics.count(QUARANTINED, &[], quarantined as f64);
    metrics.add(
        "balados_materializer_late_events_total",
        "Public events recorded after the popularity grace period (all-time totals only).",
        &[],
        changes.public.late as f64,
    );
    metrics.add(
        "balados_materializer_accounts_deleted_total",
        "Accounts whose read models were deleted (AccountDeleted events applied).",
        &[],
        changes.deleted.len() as f64,
    );
    metrics.add(
        "balados_materializer_popularity_repeats_total",
        "Public events without points: their user's episode (or feed) counted already that day.",
        &[],
        changes.public.repeats as f64,
    );
    if let Some(oldest) = events.iter().map(|e| e.recorded_at).min() {
        let lag = (chrono::Utc::now() - oldest).num_milliseconds().max(0) as f64 / 1000.0;
        metrics.set(
            "balados_materializer_projection_lag_seconds",
            "Time from an event's recording (server time) to its commit in PostgreSQL: the oldest of the last batch.",
            &[],
            lag,
        );
    }
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
