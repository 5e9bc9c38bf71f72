//! The aggregator's producer: enqueues records without awaiting each one, tracks where the
//! events land (their offsets make the consistency token of each outcome), flushes without
//! rdkafka's 100 ms polling steps, and commits a batch with its input offsets — in its
//! transaction, or, without transactions, once every record is delivered.

use balados_platform::kafka::errors::{Retry, classify};
use balados_platform::metrics::Metrics;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer as _, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{DeliveryResult, Message as _, ToBytes};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer as _, ProducerContext};
use rdkafka::{ClientConfig, ClientContext, TopicPartitionList};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Opaque of records whose delivery is not tracked.
pub const UNTRACKED: usize = 0;

/// A transactional call that librdkafka says is retriable (a timeout, a coordinator moving) is
/// made again, a few times: a commit whose outcome was in doubt is then known, without a replay.
const TXN_RETRY: Retry = Retry {
    attempts: 3,
    first: Duration::from_millis(100),
    max: Duration::from_secs(1),
};

/// Deliveries of tracked records: (opaque, partition, offset); and the first delivery that failed,
/// of any record.
#[derive(Debug, Default)]
pub struct DeliveryLog {
    delivered: Mutex<Vec<(usize, i32, i64)>>,
    failed: Mutex<Option<KafkaError>>,
}

impl ClientContext for DeliveryLog {}

impl ProducerContext for DeliveryLog {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, opaque: usize) {
        match result {
            Ok(message) => {
                if opaque != UNTRACKED
                    && let Ok(mut delivered) = self.delivered.lock()
                {
                    delivered.push((opaque, message.partition(), message.offset()));
                }
            }
            // Without a transaction nothing else would say it: a record the broker refused
            // (an error it gives while restarting, say) must fail the batch, or the state and
            // offsets written after it would stand on an event that is not there.
            Err((error, _)) => {
                if let Ok(mut failed) = self.failed.lock() {
                    failed.get_or_insert_with(|| error.clone());
                }
            }
        }
    }
}

pub struct Output {
    producer: BaseProducer<DeliveryLog>,
    transactional: bool,
    metrics: Metrics,
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Output").finish_non_exhaustive()
    }
}

impl Output {
    pub fn create(
        config: &ClientConfig,
        transactional: bool,
        timeout: Duration,
        metrics: Metrics,
    ) -> Result<Self, KafkaError> {
        let producer: BaseProducer<DeliveryLog> =
            config.create_with_context(DeliveryLog::default())?;
        if transactional {
            // Also aborts whatever the previous incarnation with this transactional.id left open.
            producer.init_transactions(timeout)?;
        }
        Ok(Self {
            producer,
            transactional,
            metrics,
        })
    }

    /// Begins the batch's transaction (nothing without transactions).
    pub fn begin(&self) -> Result<(), KafkaError> {
        if self.transactional {
            self.retried("begin", || self.producer.begin_transaction())?;
        }
        Ok(())
    }

    /// Commits the batch with `offsets` (the next offset per partition of the input): waits for
    /// every delivery — a failed one fails the commit — then commits the offsets in the
    /// transaction, sent with the consumer's group metadata so that zombies are fenced (KIP-447),
    /// or, without transactions, to the group.
    pub fn commit<C: ConsumerContext>(
        &self,
        consumer: &BaseConsumer<C>,
        offsets: &TopicPartitionList,
        timeout: Duration,
    ) -> Result<(), KafkaError> {
        // commit_transaction flushes too, but through rdkafka's flush loop, which sleeps in 100 ms
        // polls; ours returns as soon as the deliveries are in.
        self.flush(timeout)?;
        if self.transactional {
            // No group metadata means the consumer has left its group: abort and replay.
            let metadata = consumer.group_metadata().ok_or(KafkaError::ClientCreation(
                "consumer has no group metadata".into(),
            ))?;
            // None when every command of the batch was below the committed offsets.
            if offsets.count() > 0 {
                self.retried("send_offsets", || {
                    self.producer
                        .send_offsets_to_transaction(offsets, &metadata, timeout)
                })?;
            }
            self.retried("commit", || self.producer.commit_transaction(timeout))
        } else if offsets.count() > 0 {
            consumer.commit(offsets, CommitMode::Sync)
        } else {
            Ok(())
        }
    }

    /// Forgets the batch's deliveries and aborts its transaction (if any). An error means the
    /// producer is stuck (e.g. the broker forgot the transaction): replace it, never retry.
    pub fn abort(&self, timeout: Duration) -> Result<(), KafkaError> {
        self.take_deliveries();
        if self.transactional {
            self.producer.abort_transaction(timeout)?;
        }
        Ok(())
    }

    /// Makes a transactional call, again while librdkafka says its error is retriable (counted).
    fn retried<T>(
        &self,
        call: &'static str,
        f: impl FnMut() -> Result<T, KafkaError>,
    ) -> Result<T, KafkaError> {
        TXN_RETRY.run(classify, f, |error, delay| {
            self.metrics.add(
                "balados_aggregator_kafka_retries_total",
                "Transactional calls made again after an error librdkafka says is retriable, by call.",
                &[("call", call)],
                1.0,
            );
            tracing::warn!(call, error = %error, retry_in_ms = delay.as_millis() as u64, "retriable Kafka error; making the call again");
        })
    }

    pub fn producer(&self) -> &BaseProducer<DeliveryLog> {
        &self.producer
    }

    /// Enqueues a record, waiting while the local queue is full.
    pub fn send<K: ToBytes + ?Sized, P: ToBytes + ?Sized>(
        &self,
        mut record: BaseRecord<'_, K, P, usize>,
    ) -> Result<(), KafkaError> {
        loop {
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    self.producer.poll(Duration::from_millis(5));
                }
                Err((e, _)) => return Err(e),
            }
        }
    }

    /// Waits until every enqueued record is delivered; an error if one failed since the last
    /// [`Output::take_deliveries`]. rdkafka's `flush` sleeps in 100 ms steps, and its `poll(1 ms)`
    /// spins (a deadline under 1 ms becomes a 0 ms wait), so this serves the queued delivery
    /// reports without waiting and naps 200 µs between rounds.
    pub fn flush(&self, timeout: Duration) -> Result<(), KafkaError> {
        let deadline = Instant::now() + timeout;
        loop {
            self.producer.poll(Duration::ZERO);
            if self.producer.in_flight_count() == 0 {
                let failed = self
                    .producer
                    .context()
                    .failed
                    .lock()
                    .ok()
                    .and_then(|f| f.clone());
                return failed.map_or(Ok(()), Err);
            }
            if Instant::now() > deadline {
                return Err(KafkaError::Flush(RDKafkaErrorCode::OperationTimedOut));
            }
            std::thread::sleep(Duration::from_micros(200));
        }
    }

    /// The deliveries recorded since the last call; forgets a failure (the batch it failed is
    /// over).
    pub fn take_deliveries(&self) -> Vec<(usize, i32, i64)> {
        let context = self.producer.context();
        if let Ok(mut failed) = context.failed.lock() {
            failed.take();
        }
        context
            .delivered
            .lock()
            .map(|mut d| std::mem::take(&mut *d))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A producer whose broker never answers: its records fail, as records a restarting broker
    /// refuses do.
    fn unreachable() -> ClientConfig {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", "127.0.0.1:1")
            .set("message.timeout.ms", "200");
        config
    }

    fn record(opaque: usize) -> BaseRecord<'static, str, str, usize> {
        BaseRecord::with_opaque_to("t", opaque)
            .key("k")
            .payload("v")
    }

    #[test]
    fn without_transactions_a_failed_delivery_fails_the_flush_until_the_batch_is_over() {
        let output = Output::create(
            &unreachable(),
            false,
            Duration::from_secs(1),
            Metrics::default(),
        )
        .expect("producer");
        // Untracked records (outcomes, state) are not in the deliveries, but their failure counts.
        output.send(record(UNTRACKED)).expect("enqueued");
        let flushed = output.flush(Duration::from_secs(10));
        assert!(
            matches!(flushed, Err(KafkaError::MessageProduction(_))),
            "{flushed:?}"
        );
        // A later flush of the same batch (before the offsets are committed) fails too.
        assert!(output.flush(Duration::from_secs(1)).is_err());
        // The batch is over (aborted): the next one starts clean.
        assert!(output.take_deliveries().is_empty());
        output
            .flush(Duration::from_secs(1))
            .expect("nothing failed since");
    }

    #[test]
    fn a_failed_delivery_is_not_hidden_by_the_tracked_ones() {
        let output = Output::create(
            &unreachable(),
            false,
            Duration::from_secs(1),
            Metrics::default(),
        )
        .expect("producer");
        output.send(record(1)).expect("enqueued");
        output.send(record(UNTRACKED)).expect("enqueued");
        assert!(output.flush(Duration::from_secs(10)).is_err());
        assert!(
            output.take_deliveries().is_empty(),
            "no delivery of a failed record is recorded"
        );
    }
}
