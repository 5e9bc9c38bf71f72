//! The consume-transform-produce loop.
//!
//! Delivery guarantee: exactly-once in effect. Commands are read from `commands` (group
//! `{prefix}.aggregator`, read_committed with transactions — read_uncommitted without them —, no
//! auto-commit). Per batch, in one Kafka transaction:
//! the events, the changed state records, the outcomes, and the input offsets (last processed + 1)
//! sent with the consumer group metadata, so zombies are fenced (KIP-447). On an abortable error
//! the transaction is aborted, the batch's changes to the in-memory state undone, and the
//! partitions rewound to their committed offsets (a partition whose committed offset moved anyway
//! is restored again); a producer that is fatal, or cannot abort, is replaced. Because `decide` is
//! deterministic and every event carries its per-user sequence, a replay yields byte-identical
//! events that consumers drop — so the result stays exactly-once even on a broker that shows
//! aborted records. Without transactions (`aggregator.transactional = false`): events and
//! outcomes are flushed, then state records, then the offsets are committed; a failed delivery
//! of any of them fails the batch before its offsets are committed.
//!
//! A `DeleteAccount` command is written in a batch of its own (the polled batch is cut before and
//! after it), so that a replay never repeats another event of its user around the deletion (see
//! `deletion`).
//!
//! The transactional id is `{prefix}.aggregator.{instance id}`: unique among live processes and
//! the same after a restart, so that a restarted instance fences its predecessor (see
//! `balados_platform::kafka::instance`).

use crate::batch::{BatchError, BatchWriter};
use crate::partitions::StateStore;
use crate::restore::Restorer;
use balados_platform::Settings;
use balados_platform::kafka::committed::committed_offsets;
use balados_platform::kafka::errors::{ErrorClass, classify, is_fenced};
use balados_platform::kafka::instance::{self, InstanceId};
use balados_platform::kafka::poll::{Batching, poll_batch};
use balados_platform::kafka::rebalance::{GroupContext, LagFrom};
use balados_platform::metrics::{Counter, Metrics};
use balados_platform::readiness::Readiness;
use balados_schemas::Codec;
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::message::Message as _;
use rdkafka::{Offset, TopicPartitionList};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The readiness component: ready once the group has given this instance its partitions and their
/// users are restored.
pub const READINESS: &str = "aggregator";

/// Parks and drops partitions' state on what the group takes away and gives (see `partitions`).
pub type CommandConsumer = BaseConsumer<GroupContext>;

/// A pause between commands that ends a batch: lets the records of fetches in flight join.
const PAUSE: Duration = Duration::from_millis(3);

/// How often librdkafka reports its statistics, the source of the consumer lag metric.
const STATISTICS_INTERVAL_MS: &str = "5000";

const TRANSACTION_ABORTS: Counter = Counter {
    name: "balados_aggregator_transaction_aborts_total",
    help: "Batches aborted and replayed, by cause.",
};

/// Every `cause` of [`TRANSACTION_ABORTS`] (see [`abort_cause`]).
const ABORT_CAUSES: [&str; 4] = ["kafka", "restore", "codec", "too_large"];

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
    // Held until the loop ends: no other aggregator on this host takes the id meanwhile.
    let instance: InstanceId = instance::claim(
        &settings.aggregator.instance_id,
        &settings.kafka.group_instance_id,
        &group,
    )?;
    tracing::info!(
        aggregator.instance_id = instance.as_str(),
        "transactional id {}.aggregator.{} (set aggregator.instance_id where host names change on restart)",
        settings.kafka.topic_prefix,
        instance.as_str()
    );
    let client_id = format!("balados-aggregator-{}", instance.as_str());
    let context = GroupContext::new(READINESS, readiness.clone())
        .ready_when_told()
        .with_rebalance_metric(metrics.clone())
        .with_lag_metric(
            metrics.clone(),
            LagFrom::Read,
            "balados_aggregator_consumer_lag",
            "Commands not yet read by this aggregator, per assigned partition.",
        );
    let consumer: CommandConsumer =
        balados_platform::kafka::group_consumer_config(&settings.kafka, &client_id, &group)
            .set("statistics.interval.ms", STATISTICS_INTERVAL_MS)
            .create_with_context(context)?;
    count_rare_events_from_zero(&metrics);
    consumer.subscribe(&[&topics.commands])?;
    let restorer = Restorer::new(&settings.kafka, &topics, codec.clone(), runtime.clone())?;
    let mut writer =
        BatchWriter::new(settings, instance.as_str(), codec, runtime, metrics.clone())?;
    let mut store = StateStore::default();
    let interval = Duration::from_millis(settings.aggregator.commit_interval_ms);
    // Waits up to `interval` for a first command, then takes what arrives without a pause, up to
    // `max_batch` and within `interval` of the first.
    let batching = Batching {
        max: settings.aggregator.max_batch,
        first_wait: interval,
        window: interval,
        pause: PAUSE,
    };
    tracing::info!(
        kafka.group = %group,
        instance.id = instance.as_str(),
        instance.source = ?instance.source(),
        transactional = settings.aggregator.transactional,
        "aggregator started"
    );

    let mut unrestored: Option<Vec<i32>> = None;
    while !shutdown.load(Ordering::Relaxed) {
        let mut batch = poll_batch(&consumer, &batching, "aggregator");
        for partition in consumer.context().take_revoked() {
            store.park(partition);
        }
        if let Some(assigned) = consumer.context().take_assigned() {
            store.retain(&assigned);
            unrestored = Some(assigned);
        }
        // Ready means restored: the partitions just assigned are restored before anything else
        // (retried at the next poll if the broker fails meanwhile), then read from the offset
        // their state is at. What was polled of them came from before the rebalance or from the
        // offset the group read at the assignment; a broker that lets a committed offset move
        // back (tansu takes commits from former members) can put either apart from the state,
        // and a command decided on a state that lacks the ones before it would reuse their
        // sequences.
        if let Some(partitions) = &unrestored {
            batch.retain(|m| !partitions.contains(&m.partition()));
            let prepared = writer
                .prepare(&consumer, &restorer, &mut store, partitions)
                .map_err(anyhow::Error::from)
                .and_then(|()| seek_to_state(&consumer, &topics.commands, &store, partitions));
            match prepared {
                Ok(()) => {
                    unrestored = None;
                    readiness.set(READINESS, true);
                }
                Err(e) => tracing::warn!(error = %e, "restoring the assigned partitions; retrying"),
            }
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
        // A batch is written in parts where a part must end (an account deletion is decided
        // alone); a failure rewinds to the committed offsets, which covers the parts not written.
        let mut rest = batch.as_slice();
        while !rest.is_empty() {
            let started = Instant::now();
            match writer.write(&consumer, &restorer, &mut store, rest) {
                Ok(taken) => {
                    metrics.add(
                        "balados_aggregator_commands_total",
                        "Commands processed.",
                        &[],
                        taken as f64,
                    );
                    metrics.add(
                        "balados_aggregator_batches_total",
                        "Batches committed.",
                        &[],
                        1.0,
                    );
                    tracing::debug!(
                        batch.size = taken,
                        duration_ms = started.elapsed().as_millis() as u64,
                        "batch committed"
                    );
                    rest = rest.get(taken.max(1)..).unwrap_or_default();
                }
                Err(error) => {
                    recover(
                        (&consumer, &topics.commands),
                        &mut writer,
                        &mut store,
                        &metrics,
                        error,
                        &shutdown,
                    )?;
                    break;
                }
            }
        }
    }
    tracing::info!("aggregator stopping");
    consumer.unsubscribe();
    Ok(())
}

fn recover(
    (consumer, topic): (&CommandConsumer, &str),
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
    if let BatchError::Kafka(e) = &error
        && is_fenced(e)
    {
        // Once is a restart of this instance fencing its predecessor (this process, if it is the
        // zombie); a loop of them is two live aggregators sharing one id.
        tracing::error!(
            kafka.transactional_id = writer.transactional_id(),
            "this aggregator's producer was fenced: another producer took its transactional id. \
             If this repeats, two aggregators share aggregator.instance_id; give each its own, or \
             leave it empty to derive one per process"
        );
        metrics.add(
            "balados_aggregator_fenced_total",
            "Producers fenced by another producer with the same transactional id.",
            &[],
            1.0,
        );
    }
    metrics.count(TRANSACTION_ABORTS, &[("cause", abort_cause(&error))], 1.0);
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
    let readiness = consumer.context().readiness();
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
            match rewind(consumer, topic) {
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

/// An outage (the broker, the registry) against a poison command (a record too large, refused by
/// the replay instead of retried). One of [`ABORT_CAUSES`].
fn abort_cause(error: &BatchError) -> &'static str {
    match error {
        BatchError::Kafka(_) => "kafka",
        BatchError::Restore(_) => "restore",
        BatchError::Codec(_) => "codec",
        BatchError::TooLarge => "too_large",
    }
}

/// The counters that alerts watch for any increase exist from the start, at zero: a series that
/// appears at 1 has no increase, and the first dead letter or lost event would go unseen.
fn count_rare_events_from_zero(metrics: &Metrics) {
    metrics.count(crate::batch::intake::DEAD_LETTERS, &[], 0.0);
    metrics.count(crate::restore::MISSING_EVENTS, &[], 0.0);
    for cause in ABORT_CAUSES {
        metrics.count(TRANSACTION_ABORTS, &[("cause", cause)], 0.0);
    }
}

/// Seeks `partitions` to the offsets their state in `store` is at.
fn seek_to_state(
    consumer: &CommandConsumer,
    topic: &str,
    store: &StateStore,
    partitions: &[i32],
) -> anyhow::Result<()> {
    let mut offsets = Vec::with_capacity(partitions.len());
    for partition in partitions {
        let offset = store
            .committed(*partition)
            .ok_or_else(|| anyhow::anyhow!("partition {partition} is not restored"))?;
        offsets.push((*partition, Offset::Offset(offset)));
    }
    seek(consumer, topic, offsets)
}

/// Seeks each partition to its offset; a partition's error fails the whole.
fn seek(
    consumer: &CommandConsumer,
    topic: &str,
    offsets: impl IntoIterator<Item = (i32, Offset)>,
) -> anyhow::Result<()> {
    let mut list = TopicPartitionList::new();
    for (partition, offset) in offsets {
        list.add_partition_offset(topic, partition, offset)?;
    }
    // librdkafka refuses an empty seek (an assignment of no partition).
    if list.count() == 0 {
        return Ok(());
    }
    let sought = consumer.seek_partitions(list, Duration::from_secs(10))?;
    match sought.elements().iter().find_map(|e| e.error().err()) {
        Some(error) => Err(error.into()),
        None => Ok(()),
    }
}

/// Seeks every assigned partition back to its committed offset; returns those offsets (0 where
/// nothing is committed).
fn rewind(consumer: &CommandConsumer, topic: &str) -> anyhow::Result<HashMap<i32, i64>> {
    let assigned: Vec<i32> = consumer
        .assignment()?
        .elements_for_topic(topic)
        .iter()
        .map(|e| e.partition())
        .collect();
    if assigned.is_empty() {
        return Ok(HashMap::new());
    }
    let committed = committed_offsets(consumer, topic, &assigned)?;
    let offsets = committed
        .iter()
        .map(|(p, o)| (*p, o.map_or(Offset::Beginning, Offset::Offset)));
    seek(consumer, topic, offsets)?;
    Ok(committed
        .into_iter()
        .map(|(p, o)| (p, o.unwrap_or(0)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::restore::RestoreError;
    use balados_schemas::CodecError;
    use rdkafka::error::KafkaError;

    #[test]
    fn every_abort_cause_is_counted_from_zero() {
        let errors = [
            BatchError::Kafka(KafkaError::Canceled),
            BatchError::Restore(RestoreError::Kafka(KafkaError::Canceled)),
            BatchError::Codec(CodecError::Avro(String::new())),
            BatchError::TooLarge,
        ];
        let causes: Vec<&str> = errors.iter().map(abort_cause).collect();
        assert_eq!(causes, ABORT_CAUSES);
        let metrics = Metrics::default();
        count_rare_events_from_zero(&metrics);
        let text = metrics.render();
        for cause in ABORT_CAUSES {
            let series =
                format!("balados_aggregator_transaction_aborts_total{{cause=\"{cause}\"}} 0\n");
            assert!(text.contains(&series), "{text}");
        }
        assert!(
            text.contains("balados_aggregator_dead_letters_total 0\n"),
            "{text}"
        );
        assert!(
            text.contains("balados_aggregator_missing_events_total 0\n"),
            "{text}"
        );
    }
}
