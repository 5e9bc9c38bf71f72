//! Collecting a batch from a group consumer: wait a while for a first record, then take what
//! arrives without a pause, within a window and up to a size. Small batches at low load (latency),
//! large ones under load (throughput: records accumulate while the previous batch is written).
//! One rule, two drivers: a blocking one (the aggregator's thread) and an async one (the
//! materializers).

use super::errors::log_consumer_error;
use rdkafka::consumer::{BaseConsumer, ConsumerContext, StreamConsumer};
use rdkafka::message::OwnedMessage;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batching {
    /// At most this many records.
    pub max: usize,
    /// How long to wait for a first record; the batch is empty when none comes, so that the
    /// caller's loop still goes round (new assignments, shutdown).
    pub first_wait: Duration,
    /// How long after the first record the batch may keep growing.
    pub window: Duration,
    /// A pause this long between records ends the batch: a short grace lets the records of
    /// fetches in flight join, without waiting out the window at low load.
    pub pause: Duration,
}

impl Batching {
    /// How long to wait for the next record, `None` when the batch is complete. `first` is when
    /// the first record came (`None`: no record yet).
    fn wait(
        &self,
        len: usize,
        started: Instant,
        first: Option<Instant>,
        now: Instant,
    ) -> Option<Duration> {
        if len >= self.max {
            return None;
        }
        let remaining = match first {
            None => (started + self.first_wait).saturating_duration_since(now),
            Some(first) => (first + self.window)
                .saturating_duration_since(now)
                .min(self.pause),
        };
        (!remaining.is_zero()).then_some(remaining)
    }
}

/// A batch from a blocking consumer (see [`Batching`]); errors are logged and polling goes on.
pub fn poll_batch<C: ConsumerContext>(
    consumer: &BaseConsumer<C>,
    batching: &Batching,
    component: &'static str,
) -> Vec<OwnedMessage> {
    let started = Instant::now();
    let mut first = None;
    let mut batch = Vec::new();
    while let Some(wait) = batching.wait(batch.len(), started, first, Instant::now()) {
        match consumer.poll(wait) {
            Some(Ok(message)) => {
                first.get_or_insert_with(Instant::now);
                batch.push(message.detach());
            }
            Some(Err(e)) => log_consumer_error(component, &e),
            None if first.is_some() => break,
            None => {}
        }
    }
    batch
}

/// A batch from an async consumer (see [`Batching`]); errors are logged and receiving goes on.
pub async fn recv_batch<C: ConsumerContext + 'static>(
    consumer: &StreamConsumer<C>,
    batching: &Batching,
    component: &'static str,
) -> Vec<OwnedMessage> {
    let started = Instant::now();
    let mut first = None;
    let mut batch = Vec::new();
    while let Some(wait) = batching.wait(batch.len(), started, first, Instant::now()) {
        match tokio::time::timeout(wait, consumer.recv()).await {
            Ok(Ok(message)) => {
                first.get_or_insert_with(Instant::now);
                batch.push(message.detach());
            }
            Ok(Err(e)) => log_consumer_error(component, &e),
            Err(_) if first.is_some() => break,
            Err(_) => {}
        }
    }
    batch
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn batching() -> Batching {
        Batching {
            max: 3,
            first_wait: 500 * MS,
            window: 50 * MS,
            pause: 2 * MS,
        }
    }

    #[test]
    fn the_first_record_is_awaited_up_to_the_first_wait() {
        let b = batching();
        let t0 = Instant::now();
        assert_eq!(b.wait(0, t0, None, t0), Some(500 * MS));
        assert_eq!(b.wait(0, t0, None, t0 + 480 * MS), Some(20 * MS));
        assert_eq!(b.wait(0, t0, None, t0 + 500 * MS), None, "an empty batch");
    }

    #[test]
    fn after_the_first_record_a_pause_or_the_window_ends_the_batch() {
        let b = batching();
        let t0 = Instant::now();
        // The first record came late: the window counts from it, not from the start.
        let first = t0 + 480 * MS;
        assert_eq!(b.wait(1, t0, Some(first), first), Some(2 * MS));
        assert_eq!(b.wait(2, t0, Some(first), first + 49 * MS), Some(MS));
        assert_eq!(b.wait(2, t0, Some(first), first + 50 * MS), None);
    }

    #[test]
    fn a_full_batch_ends_at_once() {
        let b = batching();
        let t0 = Instant::now();
        assert_eq!(b.wait(3, t0, Some(t0), t0), None);
        assert!(b.wait(0, t0, None, t0).is_some());
    }
}
