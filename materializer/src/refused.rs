//! Events PostgreSQL refuses. A batch that fails because of its data (SQLSTATE class 22, data
//! exception, e.g. a NUL byte in a text; 23, integrity constraint; or 54, a program limit, e.g. an
//! index row over btree's 2,704 bytes) would fail on every retry and block its partitions forever; it is written again one event at a time, and the events refused
//! on their own are quarantined with the reason and their position instead of applied. Other
//! failures (connection, serialization, deadlock) are retried as they are.

use crate::apply::{BatchChanges, Gap};
use crate::sink::{Batch, Quarantined, write_batch};
use chrono::TimeDelta;
use sqlx::PgPool;
use std::collections::BTreeMap;

/// Whether PostgreSQL refused the data itself, so that retrying the same rows cannot succeed.
pub fn refused_data(error: &sqlx::Error) -> bool {
    let sqlx::Error::Database(e) = error else {
        return false;
    };
    e.code().is_some_and(|code| {
        code.starts_with("22") || code.starts_with("23") || code.starts_with("54")
    })
}

/// Where an event of the batch came from.
#[derive(Debug, Clone)]
pub struct Origin {
    pub partition: i32,
    pub offset: i64,
    pub payload: Option<Vec<u8>>,
}

/// Writes `batch` one event per transaction; returns the sum of what was applied and the number
/// of events quarantined. `origins[i]` is where `batch.events[i]` came from.
pub async fn write_one_by_one(
    pool: &PgPool,
    (group, topic): (&str, &str),
    batch: Batch<'_>,
    origins: &[Origin],
    grace: TimeDelta,
) -> Result<(BatchChanges, usize), sqlx::Error> {
    let mut total = BatchChanges::default();
    let mut refused = 0;
    let none = BTreeMap::new();
    let only = Batch {
        events: &[],
        quarantined: batch.quarantined,
        next_offsets: &none,
    };
    write_batch(pool, group, topic, only, grace).await?;
    for (index, (event, origin)) in batch.events.iter().zip(origins).enumerate() {
        let reached = BTreeMap::from([(origin.partition, origin.offset + 1)]);
        let single = Batch {
            events: std::slice::from_ref(event),
            quarantined: &[],
            next_offsets: &reached,
        };
        match write_batch(pool, group, topic, single, grace).await {
            Ok(changes) => add(&mut total, changes, index),
            Err(e) if refused_data(&e) => {
                refused += 1;
                tracing::error!(
                    kafka.partition = origin.partition,
                    kafka.offset = origin.offset,
                    error = %e,
                    "event refused by PostgreSQL: quarantined"
                );
                let quarantined = [Quarantined {
                    partition: origin.partition,
                    offset: origin.offset,
                    reason: format!("refused by PostgreSQL: {e}"),
                    payload: origin.payload.clone(),
                    stepped_over: Some((event.user_id.as_str().to_owned(), event.sequence)),
                }];
                let alone = Batch {
                    events: &[],
                    quarantined: &quarantined,
                    next_offsets: &reached,
                };
                write_batch(pool, group, topic, alone, grace).await?;
            }
            Err(e) => return Err(e),
        }
    }
    let rest = Batch {
        events: &[],
        quarantined: &[],
        next_offsets: batch.next_offsets,
    };
    write_batch(pool, group, topic, rest, grace).await?;
    Ok((total, refused))
}

/// Adds the changes of the event at `index` of the batch to the batch's total.
fn add(total: &mut BatchChanges, changes: BatchChanges, index: usize) {
    total.applied += changes.applied;
    total.replays += changes.replays;
    total.held += changes.held;
    total
        .gaps
        .extend(changes.gaps.into_iter().map(|gap| Gap { index, ..gap }));
    total.public.late += changes.public.late;
}
