//! Writing one batch: restore the partitions it touches, handle each command, produce the
//! outputs, and commit them with the input offsets — in one transaction, or in the ordered
//! non-transactional sequence (events and outcomes, then state, then offsets).

use crate::handle::handle;
use crate::restore::{RestoreError, Restorer};
use crate::runner::CommandConsumer;
use crate::store::StateStore;
use balados_platform::Settings;
use balados_platform::metrics::Metrics;
use balados_schemas::{Codec, CodecError, CommandEnvelope, Contract, Topics};
use rdkafka::consumer::{CommitMode, Consumer as _};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, Message as _, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer as _};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::time::Duration;

const TXN_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error("Kafka: {0}")]
    Kafka(#[from] KafkaError),
    #[error("restore: {0}")]
    Restore(#[from] RestoreError),
    #[error("codec: {0}")]
    Codec(#[from] CodecError),
}

pub struct BatchWriter {
    config: ClientConfig,
    transactional: bool,
    producer: BaseProducer,
    topics: Topics,
    codec: Codec,
    runtime: tokio::runtime::Handle,
    metrics: Metrics,
}

impl std::fmt::Debug for BatchWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchWriter")
            .field("transactional", &self.transactional)
            .finish_non_exhaustive()
    }
}

fn new_producer(config: &ClientConfig, transactional: bool) -> Result<BaseProducer, KafkaError> {
    let producer: BaseProducer = config.create()?;
    if transactional {
        // Also aborts whatever the previous incarnation with this transactional.id left open.
        producer.init_transactions(TXN_TIMEOUT)?;
    }
    Ok(producer)
}

impl BatchWriter {
    pub fn new(
        settings: &Settings,
        codec: Codec,
        runtime: tokio::runtime::Handle,
        metrics: Metrics,
    ) -> Result<Self, KafkaError> {
        let agg = &settings.aggregator;
        let mut config = balados_platform::kafka::client_config(
            &settings.kafka,
            &format!("balados-aggregator-{}", agg.instance_id),
        );
        config
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "5")
            // Transaction calls that meet a still-completing previous transaction are retried
            // after this back-off; librdkafka's 100 ms default would be added to every batch.
            .set("retry.backoff.ms", "10");
        if agg.transactional {
            config
                .set(
                    "transactional.id",
                    format!(
                        "{}.aggregator.{}",
                        settings.kafka.topic_prefix, agg.instance_id
                    ),
                )
                // Short, so that a crashed instance's open transaction blocks read_committed
                // readers briefly; a restart with the same id aborts it at once anyway.
                .set("transaction.timeout.ms", "10000");
        }
        let producer = new_producer(&config, agg.transactional)?;
        Ok(Self {
            config,
            transactional: agg.transactional,
            producer,
            topics: settings.topics(),
            codec,
            runtime,
            metrics,
        })
    }

    pub fn recreate_producer(&mut self) -> Result<(), KafkaError> {
        self.producer = new_producer(&self.config, self.transactional)?;
        Ok(())
    }

    pub fn abort(&self) {
        if self.transactional
            && let Err(e) = self.producer.abort_transaction(TXN_TIMEOUT)
        {
            tracing::warn!(error = %e, "abort_transaction failed");
        }
    }

    pub fn write(
        &mut self,
        consumer: &CommandConsumer,
        restorer: &Restorer,
        store: &mut StateStore,
        batch: &[OwnedMessage],
    ) -> Result<(), BatchError> {
        if self.transactional {
            self.producer.begin_transaction()?;
        }
        let mut next_offsets: BTreeMap<i32, i64> = BTreeMap::new();
        let mut state_writes: Vec<(i32, String, Vec<u8>)> = Vec::new();
        for message in batch {
            let partition = message.partition();
            if !store.is_loaded(partition) {
                let committed = committed_offset(consumer, &self.topics.commands, partition)?;
                let (users, stats) = restorer.restore(partition, committed)?;
                tracing::info!(
                    kafka.partition = partition,
                    restore.users = stats.users,
                    restore.records = stats.records,
                    restore.ignored_uncommitted = stats.ignored_uncommitted,
                    duration_ms = stats.duration.as_millis() as u64,
                    "partition state restored"
                );
                self.metrics.add(
                    "balados_aggregator_restores_total",
                    "Partition restores.",
                    &[],
                    1.0,
                );
                store.load(partition, users);
            }
            next_offsets.insert(partition, message.offset() + 1);
            let command = match self.decode(message) {
                Ok(command) => command,
                Err(reason) => {
                    self.dead_letter(message, &reason)?;
                    continue;
                }
            };
            let state = store.user_mut(partition, &command.user_id);
            let handled = handle(state, &command, partition, message.offset());
            let user = command.user_id.as_str();
            for event in &handled.events {
                let bytes = self.codec.encode(Contract::Event, event.to_avro())?;
                self.send(
                    BaseRecord::to(&self.topics.events)
                        .partition(partition)
                        .key(user)
                        .payload(&bytes),
                )?;
            }
            for (key, record) in &handled.records {
                state_writes.push((
                    partition,
                    key.encode(),
                    self.codec.encode(Contract::UserState, record.to_avro())?,
                ));
            }
            let result = self
                .codec
                .encode(Contract::CommandResult, handled.result.to_avro())?;
            let reply_key = command.reply_to.as_deref().unwrap_or(user);
            self.send(
                BaseRecord::to(&self.topics.command_results)
                    .key(reply_key)
                    .payload(&result),
            )?;
        }
        if !self.transactional {
            // Without atomicity, order is what keeps a crash harmless: outputs, then state, then offsets.
            self.flush()?;
        }
        for (partition, key, bytes) in &state_writes {
            self.send(
                BaseRecord::to(&self.topics.user_state)
                    .partition(*partition)
                    .key(key.as_str())
                    .payload(bytes),
            )?;
        }
        let mut offsets = TopicPartitionList::new();
        for (partition, next) in &next_offsets {
            offsets.add_partition_offset(
                &self.topics.commands,
                *partition,
                Offset::Offset(*next),
            )?;
        }
        if self.transactional {
            // No group metadata means the consumer has left its group: abort and replay.
            let metadata = consumer.group_metadata().ok_or(KafkaError::ClientCreation(
                "consumer has no group metadata".into(),
            ))?;
            let started = std::time::Instant::now();
            // commit_transaction flushes too, but through rdkafka's flush loop, which sleeps in
            // 100 ms polls; ours returns as soon as the deliveries are in.
            self.flush()?;
            self.producer
                .send_offsets_to_transaction(&offsets, &metadata, TXN_TIMEOUT)?;
            let offsets_sent = started.elapsed();
            self.producer.commit_transaction(TXN_TIMEOUT)?;
            tracing::debug!(
                send_offsets_ms = offsets_sent.as_millis() as u64,
                commit_ms = (started.elapsed() - offsets_sent).as_millis() as u64,
                "transaction committed"
            );
        } else {
            self.flush()?;
            consumer.commit(&offsets, CommitMode::Sync)?;
        }
        Ok(())
    }

    /// Waits until every enqueued record is delivered (or failed), polling in 1 ms steps.
    fn flush(&self) -> Result<(), KafkaError> {
        let deadline = std::time::Instant::now() + TXN_TIMEOUT;
        while self.producer.in_flight_count() > 0 {
            if std::time::Instant::now() > deadline {
                return Err(KafkaError::Flush(RDKafkaErrorCode::OperationTimedOut));
            }
            self.producer.poll(Duration::from_millis(1));
        }
        Ok(())
    }

    fn decode(&self, message: &OwnedMessage) -> Result<CommandEnvelope, String> {
        let bytes = message.payload().ok_or("empty value")?;
        let value = match self.codec.decode_cached(Contract::Command, bytes) {
            Err(CodecError::UnknownSchema(_)) => self
                .runtime
                .block_on(self.codec.decode(Contract::Command, bytes)),
            other => other,
        }
        .map_err(|e| e.to_string())?;
        CommandEnvelope::from_avro(value).map_err(|e| e.to_string())
    }

    /// An undecodable command goes, untouched and with its reason, to the dead-letter topic;
    /// processing goes on.
    fn dead_letter(&self, message: &OwnedMessage, reason: &str) -> Result<(), BatchError> {
        tracing::warn!(
            kafka.partition = message.partition(),
            kafka.offset = message.offset(),
            reason,
            "command dead-lettered"
        );
        self.metrics.add(
            "balados_aggregator_dead_letters_total",
            "Undecodable commands dead-lettered.",
            &[],
            1.0,
        );
        let source = format!(
            "{}/{}/{}",
            message.topic(),
            message.partition(),
            message.offset()
        );
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: "balados.reason",
                value: Some(reason),
            })
            .insert(Header {
                key: "balados.source",
                value: Some(source.as_str()),
            });
        let mut record = BaseRecord::<[u8], [u8]>::to(&self.topics.dead_letters).headers(headers);
        if let Some(key) = message.key() {
            record = record.key(key);
        }
        if let Some(payload) = message.payload() {
            record = record.payload(payload);
        }
        self.send(record)
    }

    /// Enqueues a record, waiting while the local queue is full.
    fn send<K: rdkafka::message::ToBytes + ?Sized, P: rdkafka::message::ToBytes + ?Sized>(
        &self,
        mut record: BaseRecord<'_, K, P>,
    ) -> Result<(), BatchError> {
        loop {
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    self.producer.poll(Duration::from_millis(50));
                }
                Err((e, _)) => return Err(e.into()),
            }
        }
    }
}

fn committed_offset(
    consumer: &CommandConsumer,
    topic: &str,
    partition: i32,
) -> Result<i64, KafkaError> {
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition(topic, partition);
    let committed = consumer.committed_offsets(tpl, Duration::from_secs(10))?;
    Ok(committed
        .elements()
        .first()
        .and_then(|e| e.offset().to_raw())
        .filter(|o| *o >= 0)
        .unwrap_or(0))
}
