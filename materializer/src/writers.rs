//! The lanes' writers: one task per lane, each with its own connection at a time, writing what
//! the consumer loop queues for its partitions, in order, one transaction per batch.
//!
//! Delivery: a part queued is written (PostgreSQL errors are retried, refused data quarantined)
//! unless the process stops first; then its offsets were not stored with it, and it is read again.

use crate::lanes::Lane;
use crate::refused::{Origin, refused_data, write_one_by_one};
use crate::runner::READINESS;
use crate::sink::{Batch, write_batch};
use balados_platform::metrics::{Counter, Metrics};
use balados_platform::readiness::Readiness;
use balados_schemas::EventEnvelope;
use chrono::TimeDelta;
use sqlx::PgPool;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

pub(crate) const SEQUENCE_GAPS: Counter = Counter {
    name: "balados_materializer_sequence_gaps_total",
    help: "Users whose event sequence jumped (events missing upstream); each is held until repaired.",
};
pub(crate) const QUARANTINED: Counter = Counter {
    name: "balados_materializer_quarantined_total",
    help: "Events quarantined.",
};

/// Parts a lane may have waiting besides the one it writes: the consumer loop waits beyond that.
const QUEUED_PARTS: usize = 2;

/// What every lane writes with.
pub(crate) struct Context {
    pub pool: PgPool,
    /// The consumer group (the name of the offsets in `materializer.offsets`) and the topic.
    pub group: String,
    pub topic: String,
    pub grace: TimeDelta,
    /// Records one transaction takes at most.
    pub batch_max: usize,
    pub metrics: Metrics,
    pub readiness: Readiness,
    pub shutdown: watch::Receiver<bool>,
}

pub(crate) struct Writers {
    lanes: Vec<mpsc::Sender<Lane>>,
    written: mpsc::UnboundedReceiver<BTreeMap<i32, i64>>,
    tasks: Vec<JoinHandle<()>>,
}

#[derive(Debug, thiserror::Error)]
#[error("the writer of lane {0} stopped")]
pub(crate) struct LaneStopped(usize);

impl Writers {
    /// Starts `count` lanes.
    pub fn start(count: usize, context: Context) -> Self {
        let context = Arc::new(context);
        let (done, written) = mpsc::unbounded_channel();
        let (lanes, tasks) = (0..count.max(1))
            .map(|_| {
                let (sender, receiver) = mpsc::channel(QUEUED_PARTS);
                let task = tokio::spawn(lane(receiver, context.clone(), done.clone()));
                (sender, task)
            })
            .unzip();
        Writers {
            lanes,
            written,
            tasks,
        }
    }

    pub fn count(&self) -> usize {
        self.lanes.len()
    }

    /// Queues a part of lane `index`; waits while the lane has [`QUEUED_PARTS`] waiting.
    pub async fn queue(&self, index: usize, part: Lane) -> Result<(), LaneStopped> {
        let sender = self.lanes.get(index).ok_or(LaneStopped(index))?;
        sender.send(part).await.map_err(|_| LaneStopped(index))
    }

    /// The offsets reached by the parts written since the last call.
    pub fn written(&mut self) -> Vec<BTreeMap<i32, i64>> {
        std::iter::from_fn(|| self.written.try_recv().ok()).collect()
    }

    /// Takes no more parts and waits for the lanes to stop: each finishes the write it is in
    /// (or stops retrying once shutdown is signalled) and drops what waits.
    pub async fn finish(self) {
        drop(self.lanes);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// A lane's loop: takes the parts in their order, as many at once as fit in one batch.
async fn lane(
    mut parts: mpsc::Receiver<Lane>,
    context: Arc<Context>,
    done: mpsc::UnboundedSender<BTreeMap<i32, i64>>,
) {
    let mut shutdown = context.shutdown.clone();
    let mut carried: Option<Lane> = None;
    loop {
        let Some(mut batch) = (match carried.take() {
            Some(part) => Some(part),
            None => parts.recv().await,
        }) else {
            return;
        };
        while let Ok(more) = parts.try_recv() {
            if batch.records() + more.records() > context.batch_max {
                carried = Some(more);
                break;
            }
            batch.absorb(more);
        }
        if *shutdown.borrow() {
            return;
        }
        let written = write_with_retry(&context, &batch, &mut shutdown).await;
        let Some((changes, refused)) = written else {
            return;
        };
        report_gaps(&context.metrics, &changes, &batch.origins);
        record_metrics(
            &context.metrics,
            &changes,
            &batch.events,
            batch.quarantined.len() + refused,
        );
        tracing::debug!(batch.size = batch.records(), "batch materialized");
        let _ = done.send(batch.reached);
    }
}

/// PostgreSQL errors are retried with back-off: the batch is never dropped. A batch whose data
/// PostgreSQL refuses is written one event at a time (see `refused`). Returns what was applied
/// and how many events were quarantined on the way.
async fn write_with_retry(
    context: &Context,
    part: &Lane,
    shutdown: &mut watch::Receiver<bool>,
) -> Option<(crate::apply::BatchChanges, usize)> {
    let Context {
        pool,
        group,
        topic,
        grace,
        metrics,
        readiness,
        ..
    } = context;
    let batch = Batch {
        events: &part.events,
        quarantined: &part.quarantined,
        next_offsets: &part.reached,
    };
    let mut delay = Duration::from_millis(200);
    let mut split = false;
    loop {
        let written = if split {
            write_one_by_one(pool, (group, topic), batch, &part.origins, *grace).await
        } else {
            write_batch(pool, group, topic, batch, *grace)
                .await
                .map(|changes| (changes, 0))
        };
        match written {
            Ok(written) => {
                readiness.resolved(READINESS);
                return Some(written);
            }
            Err(e) if conflict(&e) => {
                // Lanes wait for each other on shared popularity rows; should PostgreSQL still
                // see a deadlock, the transaction it chose is rolled back whole: write it again.
                tracing::info!(error = %e, "a batch's transaction conflicted with another lane's; writing it again");
                count_failure(metrics, "conflict");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(20)) => continue,
                    _ = shutdown.changed() => return None,
                }
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

/// A deadlock or serialization failure: the transaction was rolled back and may simply run again.
fn conflict(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if matches!(e.code().as_deref(), Some("40P01" | "40001")))
}

/// A poison batch (PostgreSQL refused its data: split, and the culprit quarantined) against an
/// outage (retried with back-off as it is), or two lanes' transactions in conflict (written again).
fn count_failure(metrics: &Metrics, cause: &str) {
    metrics.add(
        "balados_materializer_write_failures_total",
        "Batch writes that failed, by cause: refused_data (split, the culprit quarantined), postgresql (retried with back-off) or conflict (a deadlock between lanes, written again).",
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
