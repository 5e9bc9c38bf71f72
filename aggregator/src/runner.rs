//! The consume-transform-produce loop.
//!
//! Delivery guarantee: exactly-once in effect. Commands are read from `commands` (group
//! `{prefix}.aggregator`, read_committed, no auto-commit). Per batch, in one Kafka transaction:
//! the events, the changed state records, the outcomes, and the input offsets (last processed + 1)
//! sent with the consumer group metadata, so zombies are fenced (KIP-447). On an abortable error
//! the transaction is aborted, the batch's changes to the in-memory state undone, and the
//! partitions rewound to their committed offsets (a partition whose committed offset moved anyway
//! is restored again); a producer that is fatal, or cannot abort, is replaced. Because `decide` is
//! deterministic and every event carries its per-user sequence, a replay yields byte-identical
//! events that consumers drop — so the result stays exactly-once even on a broker that shows
//! aborted records. Without transactions (`aggregator.transactional = false`): events and
//! outcomes are flushed, then state records, then the offsets are committed.

use crate::batch::{BatchError, BatchWriter};
use crate::kafka_error::{ErrorClass, classify};
use crate::partitions::StateStore;
use crate::restore::Restorer;
use balados_platform::Settings;
use balados_platform::metrics::Metrics;
use balados_platform::readiness::Readiness;
use balados_schemas::Codec;
use rdkafka::consumer::{BaseConsumer, Consumer as _, ConsumerContext, Rebalance};
use rdkafka::message::{Message as _, OwnedMessage};
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Records what the group takes away and gives, so the loop parks and drops partitions' state.
#[derive(Debug)]
pub struct RebalanceContext {
    revoked: Mutex<Vec<i32>>,
    assigned: Mutex<Option<Vec<i32>>>,
    readiness: Readiness,
}

impl ClientContext for RebalanceContext {}

impl ConsumerContext for RebalanceContext {
    fn pre_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance
            && let Ok(mut revoked) = self.revoked.lock()
        {
            revoked.extend(tpl.elements().iter().map(|e| e.partition()));
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(tpl) = rebalance {
            tracing::info!(
                kafka.partitions = tpl.count(),
                "aggregator partitions assigned"
            );
            if let Ok(mut assigned) = self.assigned.lock() {
                *assigned = Some(tpl.elements().iter().map(|e| e.partition()).collect());
            }
            self.readiness.set(READINESS, true);
        }
    }
}

/// The readiness component: ready once the group has given this instance its partitions.
pub const READINESS: &str = "aggregator";

impl RebalanceContext {
    fn take_revoked(&self) -> Vec<i32> {
        self.revoked
            .lock()
            .map(|mut r| std::mem::take(&mut *r))
            .unwrap_or_default()
    }

    /// The partitions of the last assignment, once.
    fn take_assigned(&self) -> Option<Vec<i32>> {
        self.assigned.lock().ok().and_then(|mut a| a.take())
    }
}

pub type CommandConsumer = BaseConsumer<RebalanceContext>;

/// Runs the aggregator on the calling (blocking) thread until `shutdown` is set.
pub fn run(
    settings: &Settings,
    codec: Codec,
    metrics: Metrics,
    readiness: Readiness,
    runtime: tokio::runtime::Handle,
    shutdown: Arc<AtomicBool>,
) -> anyhow::Result<()> {
    let topics = settings.topics();
    let group = format!("{}.aggregator", settings.kafka.topic_prefix);
    let client_id = format!("balados-aggregator-{}", settings.aggregator.instance_id);
    let consumer: CommandConsumer =
        balados_platform::kafka::group_consumer_config(&settings.kafka, &client_id, &group)
            .create_with_context(RebalanceContext {
                revoked: Mutex::default(),
                assigned: Mutex::default(),
                readiness,
            })?;
    consumer.subscribe(&[&topics.commands])?;
    let restorer = Restorer::new(&settings.kafka, &topics, codec.clone(), runtime.clone())?;
    let mut writer = BatchWriter::new(settings, codec, runtime, metrics.clone())?;
    let mut store = StateStore::default();
    let interval = Duration::from_millis(settings.aggregator.commit_interval_ms);
    tracing::info!(kafka.group = %group, transactional = settings.aggregator.transactional, "aggregator started");

    while !shutdown.load(Ordering::Relaxed) {
        let mut batch = poll_batch(&consumer, settings.aggregator.max_batch, interval);
        for partition in consumer.context().take_revoked() {
            store.park(partition);
        }
        if let Some(assigned) = consumer.context().take_assigned() {
            store.retain(&assigned);
        }
        if batch.is_empty() {
            continue;
        }
        // Messages polled before a revocation belong to their new owner now.
        let owned: HashSet<i32> = consumer
            .assignment()?
            .elements()
            .iter()
            .map(|e| e.partition())
            .collect();
        batch.retain(|m| owned.contains(&m.partition()));
        let started = Instant::now();
        match writer.write(&consumer, &restorer, &mut store, &batch) {
            Ok(()) => {
                metrics.add(
                    "balados_aggregator_commands_total",
                    "Commands processed.",
                    &[],
                    batch.len() as f64,
                );
                metrics.add(
                    "balados_aggregator_batches_total",
                    "Batches committed.",
                    &[],
                    1.0,
                );
                tracing::debug!(
                    batch.size = batch.len(),
                    duration_ms = started.elapsed().as_millis() as u64,
                    "batch committed"
                );
            }
            Err(error) => recover(
                &consumer,
                &mut writer,
                &mut store,
                &metrics,
                error,
                &shutdown,
            )?,
        }
    }
    tracing::info!("aggregator stopping");
    consumer.unsubscribe();
    Ok(())
}

fn recover(
    consumer: &CommandConsumer,
    writer: &mut BatchWriter,
    store: &mut StateStore,
    metrics: &Metrics,
    error: BatchError,
    shutdown: &AtomicBool,
) -> anyhow::Result<()> {
    let class = match &error {
        BatchError::Kafka(e) => classify(e),
        BatchError::Restore(_) | BatchError::Codec(_) | BatchError::TooLarge => ErrorClass::Abort,
    };
    tracing::warn!(error = %error, class = ?class, "batch failed; aborting and replaying from the committed offsets");
    // An outage (the broker, the registry) against a poison command (a record too large, refused
    // by the replay instead of retried).
    let cause = match &error {
        BatchError::Kafka(_) => "kafka",
        BatchError::Restore(_) => "restore",
        BatchError::Codec(_) => "codec",
        BatchError::TooLarge => "too_large",
    };
    metrics.add(
        "balados_aggregator_transaction_aborts_total",
        "Batches aborted and replayed, by cause.",
        &[("cause", cause)],
        1.0,
    );
    // A producer that cannot abort (the broker lost its transaction, or its own state is fatal)
    // is replaced at once: its successor fences it. Retrying the abort would block every batch.
    let mut producer_ok = class != ErrorClass::Fatal && !writer.producer_is_fatal();
    if producer_ok && let Err(e) = writer.abort() {
        tracing::warn!(error = %e, "the transaction could not be aborted; replacing the producer");
        producer_ok = false;
    }
    if !producer_ok {
        metrics.add(
            "balados_aggregator_producer_replacements_total",
            "Producers replaced after a fatal error or a failed abort.",
            &[],
            1.0,
        );
    }
    store.undo();
    let readiness = &consumer.context().readiness;
    readiness.awaiting(READINESS, "kafka");
    // Until the broker is back: a producer to recreate and offsets to read may fail for a while;
    // keep trying rather than stopping the process.
    let mut delay = Duration::from_millis(200);
    while !shutdown.load(Ordering::Relaxed) {
        if !producer_ok {
            producer_ok = writer
                .recreate_producer()
                .map_err(|e| tracing::warn!(error = %e, "recreating the producer failed; retrying"))
                .is_ok();
        }
        if producer_ok {
            match rewind(consumer) {
                Ok(committed) => {
                    // Kept where nothing was committed since the state's offset (the failed
                    // batch's commit may have reached the broker); restored otherwise.
                    store.confirm_all(&committed);
                    readiness.resolved(READINESS);
                    return Ok(());
                }
                Err(e) => {
                    tracing::warn!(error = %e, "rewinding to the committed offsets failed; retrying")
                }
            }
        }
        std::thread::sleep(delay);
        delay = (delay * 2).min(Duration::from_secs(5));
    }
    Ok(())
}

/// Seeks every assigned partition back to its committed offset; returns those offsets (0 where
/// nothing is committed).
fn rewind(consumer: &CommandConsumer) -> anyhow::Result<HashMap<i32, i64>> {
    let assignment = consumer.assignment()?;
    if assignment.count() == 0 {
        return Ok(HashMap::new());
    }
    let committed = consumer.committed_offsets(assignment, Duration::from_secs(10))?;
    let mut seek = TopicPartitionList::new();
    let mut offsets = HashMap::new();
    for element in committed.elements() {
        let offset = match element.offset() {
            Offset::Offset(o) => Offset::Offset(o),
            _ => Offset::Beginning,
        };
        offsets.insert(
            element.partition(),
            offset.to_raw().filter(|o| *o >= 0).unwrap_or(0),
        );
        seek.add_partition_offset(element.topic(), element.partition(), offset)?;
    }
    consumer.seek_partitions(seek, Duration::from_secs(10))?;
    Ok(offsets)
}

/// Waits up to `interval` for a first command, then takes what arrives without a pause, up to
/// `max` and within `interval`: small batches at low load (latency), large ones under load (throughput,
/// since commands accumulate while the previous batch commits).
fn poll_batch(consumer: &CommandConsumer, max: usize, interval: Duration) -> Vec<OwnedMessage> {
    let deadline = Instant::now() + interval;
    let mut batch = Vec::new();
    while batch.len() < max {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            break;
        }
        // After the first command, a short grace lets records of fetches in flight join.
        let wait = if batch.is_empty() {
            remaining
        } else {
            remaining.min(Duration::from_millis(3))
        };
        match consumer.poll(wait) {
            Some(Ok(message)) => batch.push(message.detach()),
            Some(Err(e)) => balados_platform::kafka::log_consumer_error("aggregator", &e),
            None if batch.is_empty() => {}
            None => break,
        }
    }
    batch
}
