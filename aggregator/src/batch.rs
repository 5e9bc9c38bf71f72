//! Writing one batch: restore the partitions it touches, handle each command, and commit the
//! outputs with the input offsets — in one transaction, or in the ordered non-transactional
//! sequence (events, then outcomes, then state, then offsets).
//!
//! Events are produced and delivered first: their offsets become each outcome's consistency
//! token (`events_next_offset`), which the outcomes then carry.

use crate::deletion::is_deletion;
use crate::handle::{handle, refuse};
use crate::output::{Output, UNTRACKED};
use crate::partitions::{Standing, StateStore};
use crate::restore::{RestoreError, Restorer};
use crate::runner::CommandConsumer;
use crate::store::StateWrite;
use balados_domain::Rejection;
use balados_platform::Settings;
use balados_platform::kafka::committed::committed_offsets;
use balados_platform::metrics::Metrics;
use balados_schemas::state::SOURCE_OFFSET_HEADER;
use balados_schemas::{Codec, CodecError, CommandResult, Contract, ReplyTo, StateKey, Topics};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, Message as _, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{BaseRecord, Producer as _};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

pub(crate) mod intake;

const TXN_TIMEOUT: Duration = Duration::from_secs(30);
/// A record's framing and headers, beyond its key and value (a generous bound).
const RECORD_OVERHEAD: usize = 1024;
/// How long a new producer may take to fence its previous incarnation: short, because recovery
/// retries it (with back-off) and a SIGTERM waits for it.
const INIT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error("Kafka: {0}")]
    Kafka(#[from] KafkaError),
    #[error("restore: {0}")]
    Restore(#[from] RestoreError),
    #[error("codec: {0}")]
    Codec(#[from] CodecError),
    #[error("a record is larger than the producer accepts (its command will be refused)")]
    TooLarge,
}

/// An outcome waiting for its events' offsets.
struct PendingResult {
    reply_to: Option<String>,
    result: CommandResult,
}

pub struct BatchWriter {
    config: ClientConfig,
    /// `None` without transactions.
    transactional_id: Option<String>,
    transactional: bool,
    output: Output,
    topics: Topics,
    codec: Codec,
    runtime: tokio::runtime::Handle,
    metrics: Metrics,
    /// Commands (partition, offset) whose records the producer refused for their size, with why:
    /// refused when met again.
    unwritable: RefCell<HashMap<(i32, i64), String>>,
    /// The producer's record size limit (`message.max.bytes`).
    max_record: usize,
}

impl std::fmt::Debug for BatchWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchWriter")
            .field("transactional", &self.transactional)
            .finish_non_exhaustive()
    }
}

impl BatchWriter {
    /// `instance_id` names the transactional id (see `balados_platform::kafka::instance`).
    pub fn new(
        settings: &Settings,
        instance_id: &str,
        codec: Codec,
        runtime: tokio::runtime::Handle,
        metrics: Metrics,
    ) -> Result<Self, KafkaError> {
        let agg = &settings.aggregator;
        let mut config = balados_platform::kafka::tuned_producer_config(
            &settings.kafka,
            &format!("balados-aggregator-{instance_id}"),
            // Transaction calls that meet a still-completing previous transaction are retried
            // after this back-off; librdkafka's 100 ms default would be added to every batch.
            &[("retry.backoff.ms", "10")],
        );
        let transactional_id = agg
            .transactional
            .then(|| format!("{}.aggregator.{instance_id}", settings.kafka.topic_prefix));
        if let Some(id) = &transactional_id {
            config
                .set("transactional.id", id)
                // Short, so that a crashed instance's open transaction blocks read_committed
                // readers briefly; a restart with the same id aborts it at once anyway.
                .set("transaction.timeout.ms", "10000");
        }
        let output = Output::create(&config, agg.transactional, INIT_TIMEOUT, metrics.clone())?;
        // librdkafka's default for message.max.bytes; the producer refuses a larger record.
        let max_record = config
            .get("message.max.bytes")
            .and_then(|m| m.parse().ok())
            .unwrap_or(1_000_000);
        Ok(Self {
            config,
            transactional_id,
            transactional: agg.transactional,
            output,
            topics: settings.topics(),
            codec,
            runtime,
            metrics,
            unwritable: RefCell::default(),
            max_record,
        })
    }

    /// Replaces the producer; with transactions, the new one fences the old one and aborts
    /// whatever transaction it left open.
    pub fn recreate_producer(&mut self) -> Result<(), KafkaError> {
        self.output = Output::create(
            &self.config,
            self.transactional,
            INIT_TIMEOUT,
            self.metrics.clone(),
        )?;
        Ok(())
    }

    /// The producer's transactional id ("none" without transactions).
    pub fn transactional_id(&self) -> &str {
        self.transactional_id.as_deref().unwrap_or("none")
    }

    /// Whether librdkafka says the producer can never be used again.
    pub fn producer_is_fatal(&self) -> bool {
        self.output.producer().client().fatal_error().is_some()
    }

    /// Aborts the open transaction (if any). An error means the producer is stuck (e.g. the
    /// broker forgot the transaction): the caller must replace it, never retry the abort.
    pub fn abort(&self) -> Result<(), KafkaError> {
        self.output.abort(INIT_TIMEOUT)
    }

    /// Writes the longest prefix of `batch` that may share one batch and returns its length
    /// (at least 1): a `DeleteAccount` is decided alone (see `crate::deletion`).
    pub fn write(
        &mut self,
        consumer: &CommandConsumer,
        restorer: &Restorer,
        store: &mut StateStore,
        batch: &[OwnedMessage],
    ) -> Result<usize, BatchError> {
        self.output.begin()?;
        let mut next_offsets: BTreeMap<i32, i64> = BTreeMap::new();
        let mut pending: Vec<PendingResult> = Vec::with_capacity(batch.len());
        // The batch's state changes, each entity once: its last value wins (a user with several
        // commands in the batch rewrites their meta record once, not per command).
        // Sized for ~3 writes per command up front: growing the index was a measurable cost.
        let mut state_writes: Vec<(i32, StateWrite)> = Vec::with_capacity(batch.len() * 3);
        let mut state_index: HashMap<StateKey, usize> = HashMap::with_capacity(batch.len() * 3);
        let mut behind = 0_usize;
        // Encoded in the loop, sent once every record of the batch is known to fit: a batch that
        // fails before sending anything is replayed without a transaction to clean up.
        let mut events: Vec<(usize, (i32, i64), Vec<u8>)> = Vec::with_capacity(batch.len() * 2);
        let mut taken = batch.len();
        for (index, message) in batch.iter().enumerate() {
            let partition = message.partition();
            self.ensure_restored(consumer, restorer, store, partition)?;
            if store
                .committed(partition)
                .is_some_and(|c| message.offset() < c)
            {
                behind += 1;
                continue;
            }
            let command = match self.decode(message)? {
                Ok(command) => command,
                Err(reason) => {
                    next_offsets.insert(partition, message.offset() + 1);
                    self.dead_letter(message, &reason)?;
                    continue;
                }
            };
            let deletion = is_deletion(&command);
            if deletion && !pending.is_empty() {
                taken = index;
                break;
            }
            next_offsets.insert(partition, message.offset() + 1);
            let source = (partition, message.offset());
            let state = store.user_mut(partition, &command.user_id);
            let unwritable = self.unwritable.borrow().get(&source).cloned();
            let handled = match unwritable {
                Some(reason) => refuse(
                    state,
                    &command,
                    partition,
                    message.offset(),
                    Rejection::new(balados_schemas::RejectionCode::TooLarge, reason),
                ),
                None => handle(state, &command, partition, message.offset()),
            };
            // Opaque i + 1 ties each event's delivery to outcome i.
            let opaque = pending.len() + 1;
            for event in &handled.events {
                let bytes = self.codec.encode(Contract::Event, event.to_avro())?;
                self.fits(command.user_id.as_str(), &bytes, source)?;
                events.push((opaque, source, bytes));
            }
            for write in handled.records {
                match state_index.get(&write.key) {
                    Some(&i) => state_writes[i] = (partition, write),
                    None => {
                        state_index.insert(write.key.clone(), state_writes.len());
                        state_writes.push((partition, write));
                    }
                }
            }
            pending.push(PendingResult {
                reply_to: command.reply_to,
                result: handled.result,
            });
            if deletion {
                taken = index + 1;
                break;
            }
        }
        if behind > 0 {
            tracing::warn!(
                commands = behind,
                "the consumer went back before the committed offsets (a broker reset?): \
                 commands already decided were skipped"
            );
        }
        // Each state record's key and value. Meta records are small and bounded (a sequence and
        // the last 32 command ids): they are encoded once, after the events' offsets are known.
        let mut state_out: Vec<(String, Option<Vec<u8>>)> = Vec::with_capacity(state_writes.len());
        for (partition, write) in &state_writes {
            let key = write.key.encode();
            let bytes = match write.key {
                StateKey::Meta(_) => None,
                _ => self.encode_state(write)?,
            };
            if let Some(bytes) = &bytes {
                self.fits(&key, bytes, (*partition, write.source_offset))?;
            }
            state_out.push((key, bytes));
        }
        for (opaque, (partition, _), bytes) in &events {
            let user = &pending[opaque - 1].result.user_id;
            let record = BaseRecord::with_opaque_to(&self.topics.events, *opaque)
                .partition(*partition)
                .key(user.as_str())
                .payload(bytes);
            self.output.send(record)?;
        }
        // The events' offsets are needed by the outcomes: wait for their delivery.
        self.output.flush(TXN_TIMEOUT)?;
        for (opaque, _, offset) in self.output.take_deliveries() {
            if let Some(p) = pending.get_mut(opaque - 1) {
                p.result.events_next_offset = p.result.events_next_offset.max(offset + 1);
            }
        }
        // The meta records say where each user's last event landed (restore checks it): a
        // deleted user's, where the deletion did.
        for p in pending.iter().filter(|p| p.result.events_next_offset > 0) {
            let last = p.result.events_next_offset - 1;
            let user = &p.result.user_id;
            store
                .user_mut(p.result.events_partition, user)
                .events_offset = Some(last);
            if let Some(&i) = state_index.get(&StateKey::Meta(user.clone())) {
                state_writes[i].1.set_events_offset(last);
            }
        }
        for ((_, write), (_, bytes)) in state_writes.iter().zip(&mut state_out) {
            if let StateKey::Meta(_) = write.key {
                *bytes = self.encode_state(write)?;
            }
        }
        for p in &pending {
            let bytes = self
                .codec
                .encode(Contract::CommandResult, p.result.to_avro())?;
            let key = p.reply_to.as_deref().unwrap_or(p.result.user_id.as_str());
            let mut record = BaseRecord::with_opaque_to(&self.topics.command_results, UNTRACKED)
                .key(key)
                .payload(&bytes);
            if let Some(reply) = p.reply_to.as_deref().and_then(ReplyTo::parse) {
                record = record.partition(reply.partition);
            }
            self.output.send(record)?;
        }
        if !self.transactional {
            // Without atomicity, order is what keeps a crash harmless: outputs, then state, then offsets.
            self.output.flush(TXN_TIMEOUT)?;
        }
        for ((partition, write), (key, bytes)) in state_writes.iter().zip(&state_out) {
            let record = BaseRecord::with_opaque_to(&self.topics.user_state, UNTRACKED)
                .partition(*partition)
                .key(key.as_str());
            let record = match bytes {
                Some(bytes) => record.payload(bytes),
                // A tombstone keeps its source offset in a header, for restore to judge it.
                None => record.headers(OwnedHeaders::new().insert(Header {
                    key: SOURCE_OFFSET_HEADER,
                    value: Some(write.source_offset.to_string().as_bytes()),
                })),
            };
            self.output.send(record)?;
        }
        self.commit(consumer, &next_offsets)?;
        store.commit(next_offsets);
        Ok(taken)
    }

    /// The value of a state record (`None` for a tombstone).
    fn encode_state(&self, write: &StateWrite) -> Result<Option<Vec<u8>>, BatchError> {
        Ok(match write.record() {
            Some(record) => Some(self.codec.encode(Contract::UserState, record.to_avro())?),
            None => None,
        })
    }

    /// Whether a record made by the command read at `source` fits the producer's limit. One that
    /// does not would fail every replay of the batch and stop the partition: the command is
    /// marked unwritable, the batch fails, and the replay refuses that command instead.
    fn fits(&self, key: &str, value: &[u8], source: (i32, i64)) -> Result<(), BatchError> {
        if key.len() + value.len() + RECORD_OVERHEAD <= self.max_record {
            return Ok(());
        }
        tracing::warn!(
            kafka.partition = source.0,
            kafka.offset = source.1,
            record.bytes = value.len(),
            "a command's record is larger than the producer accepts; the command will be refused"
        );
        self.metrics.add(
            "balados_aggregator_commands_too_large_total",
            "Commands refused because a record they made would not fit the producer's limit.",
            &[],
            1.0,
        );
        self.unwritable.borrow_mut().insert(
            source,
            "the change would make a record larger than the broker accepts".to_owned(),
        );
        Err(BatchError::TooLarge)
    }

    fn commit(
        &self,
        consumer: &CommandConsumer,
        next_offsets: &BTreeMap<i32, i64>,
    ) -> Result<(), BatchError> {
        let mut offsets = TopicPartitionList::new();
        for (partition, next) in next_offsets {
            offsets.add_partition_offset(
                &self.topics.commands,
                *partition,
                Offset::Offset(*next),
            )?;
        }
        let started = Instant::now();
        self.output.commit(consumer, &offsets, TXN_TIMEOUT)?;
        tracing::debug!(
            duration_ms = started.elapsed().as_millis() as u64,
            "outputs and offsets committed"
        );
        Ok(())
    }

    /// Restores the users of `partitions` that are not in memory yet (a fresh assignment), so
    /// that the instance is ready before its first command instead of restoring then.
    pub fn prepare(
        &self,
        consumer: &CommandConsumer,
        restorer: &Restorer,
        store: &mut StateStore,
        partitions: &[i32],
    ) -> Result<(), BatchError> {
        for partition in partitions {
            self.ensure_restored(consumer, restorer, store, *partition)?;
        }
        Ok(())
    }

    /// Makes `partition`'s users current in memory: kept as they are, confirmed after a
    /// revocation if nothing was committed meanwhile, or restored.
    fn ensure_restored(
        &self,
        consumer: &CommandConsumer,
        restorer: &Restorer,
        store: &mut StateStore,
        partition: i32,
    ) -> Result<(), BatchError> {
        let parked = match store.standing(partition) {
            Standing::Ready => return Ok(()),
            Standing::Parked(_) => true,
            Standing::Missing => false,
        };
        let committed = committed_offset(consumer, &self.topics.commands, partition)?;
        if !(parked && store.confirm(partition, committed)) {
            restorer.restore_into(store, &self.metrics, partition, committed)?;
        }
        Ok(())
    }
}

/// The committed offset of `commands` in `partition` (0 where nothing is committed).
fn committed_offset(
    consumer: &CommandConsumer,
    topic: &str,
    partition: i32,
) -> Result<i64, KafkaError> {
    let committed = committed_offsets(consumer, topic, &[partition])?;
    Ok(committed.get(&partition).copied().flatten().unwrap_or(0))
}
