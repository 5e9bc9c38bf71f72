//! The aggregator's producer: enqueues records without awaiting each one, tracks where the
//! events land (their offsets make the consistency token of each outcome), and flushes without
//! rdkafka's 100 ms polling steps.

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{DeliveryResult, Message as _, ToBytes};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer as _, ProducerContext};
use rdkafka::{ClientConfig, ClientContext};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Opaque of records whose delivery is not tracked.
pub const UNTRACKED: usize = 0;

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
    ) -> Result<Self, KafkaError> {
        let producer: BaseProducer<DeliveryLog> =
            config.create_with_context(DeliveryLog::default())?;
        if transactional {
            // Also aborts whatever the previous incarnation with this transactional.id left open.
            producer.init_transactions(timeout)?;
        }
        Ok(Self { producer })
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
