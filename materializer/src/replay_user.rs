//! Replaying one user's retained events into the read models (`balados admin replay-user`, and the
//! quarantine's re-drive): the user's records in their partition of `events`, from an offset to the
//! end, applied through the live path — the same fold, per-user sequence dedup and gap rule
//! (`sink::apply_events`) — in transactions that lock the user's positions as a live batch does.
//! So it can run while the materializers run, and an event applied already is dropped as a replay:
//! replaying twice changes nothing. The materializer's stored offsets are never touched.
//!
//! A user held at a sequence gap is released in the first transaction that applies something: if
//! the events the gap lacked are in the log (an event quarantined as undecodable that decodes
//! now), they and the user's later events are applied; if they are really lost, the fold finds the
//! gap again and holds the user again, for `repair-user` (which rebuilds the per-user models from
//! the state records). Events the live materializer held while the replay read (after its end) are
//! not applied: the report says whether the user is still held, and a second run takes them.

use crate::decode::decode_waiting;
use crate::refused::refused_data;
use crate::sink::{Quarantined, apply_events, insert_gaps, insert_quarantine};
use balados_platform::Settings;
use balados_platform::kafka::inspect::Inspector;
use balados_schemas::{Codec, Contract, EventEnvelope};
use chrono::TimeDelta;
use sqlx::{PgPool, Postgres, Transaction};

/// Records read from the broker at a time.
const READ_CHUNK: usize = 2000;
/// Events applied per transaction.
const APPLY_CHUNK: usize = 500;

#[derive(Debug, Default)]
pub struct ReplayReport {
    pub partition: i32,
    /// Where reading started and ended (exclusive).
    pub from: i64,
    pub to: i64,
    /// The user's records read.
    pub records: u64,
    pub applied: usize,
    /// Events dropped because their sequence was applied already.
    pub replays: usize,
    /// The gap the user was held at before (last applied, found), released by the replay.
    pub released: Option<(i64, i64)>,
    /// The gap the user is held at now, if any.
    pub held: Option<(i64, i64)>,
    /// Whether an `AccountDeleted` was among the events applied.
    pub deleted: bool,
    /// Offsets (with the reason) of the user's records that do not decode.
    pub undecodable: Vec<(i64, String)>,
    /// Offsets (with the reason) of events PostgreSQL refused: quarantined and stepped over, as live.
    pub refused: Vec<(i64, String)>,
}

/// Replays `user`'s events of `partition` of `events` from `from` (the first retained offset when
/// `None`) to the end of the partition.
pub async fn replay_user(
    settings: &Settings,
    pool: &PgPool,
    codec: &Codec,
    user: &str,
    partition: i32,
    from: Option<i64>,
) -> anyhow::Result<ReplayReport> {
    let topic = settings.topics().events;
    let grace = TimeDelta::hours(i64::from(settings.materializer.popularity_grace_hours));
    let inspector = Inspector::new(&settings.kafka, "balados-replay")?;
    let mut report = ReplayReport {
        partition,
        from: from.unwrap_or(0),
        ..ReplayReport::default()
    };
    let mut events: Vec<(EventEnvelope, i64)> = Vec::new();
    let mut next = report.from;
    loop {
        let (records, reached) = inspector.read(&topic, partition, next, READ_CHUNK)?;
        let full = records.len() >= READ_CHUNK;
        for record in records {
            if record.key.as_deref() != Some(user.as_bytes()) {
                continue;
            }
            report.records += 1;
            let Some(bytes) = record.value else { continue };
            let decoded = decode_waiting(codec, Contract::Event, &bytes)
                .await
                .and_then(|v| EventEnvelope::from_avro(v).map_err(|e| e.to_string()));
            match decoded {
                Ok(event) => events.push((event, record.offset)),
                Err(reason) => report.undecodable.push((record.offset, reason)),
            }
        }
        next = reached;
        if !full {
            break;
        }
    }
    report.to = next;
    if !events.is_empty() {
        let mut release = true;
        for chunk in events.chunks(APPLY_CHUNK) {
            apply_chunk(
                pool,
                (&topic, partition, user),
                chunk,
                grace,
                &mut release,
                &mut report,
            )
            .await?;
        }
    }
    let quarantined: Vec<Quarantined> = report
        .undecodable
        .iter()
        .map(|(offset, reason)| Quarantined {
            partition,
            offset: *offset,
            reason: reason.clone(),
            payload: None,
            stepped_over: None,
        })
        .collect();
    let mut tx = pool.begin().await?;
    insert_quarantine(&mut tx, &topic, &quarantined).await?;
    tx.commit().await?;
    report.held =
        sqlx::query_as("SELECT applied, found FROM materializer.sequence_gaps WHERE user_id = $1")
            .bind(user)
            .fetch_optional(pool)
            .await?;
    Ok(report)
}

/// Applies `chunk` in one transaction; PostgreSQL refusing its data, one event per transaction,
/// the refused ones quarantined and stepped over as the live materializer does.
async fn apply_chunk(
    pool: &PgPool,
    (topic, partition, user): (&str, i32, &str),
    chunk: &[(EventEnvelope, i64)],
    grace: TimeDelta,
    release: &mut bool,
    report: &mut ReplayReport,
) -> anyhow::Result<()> {
    let events: Vec<EventEnvelope> = chunk.iter().map(|(e, _)| e.clone()).collect();
    let mut tx = begin(pool, user, *release, report).await?;
    match apply_events(&mut tx, &events, grace, None).await {
        Ok(changes) => {
            insert_gaps(&mut tx, &changes).await?;
            tx.commit().await?;
            *release = false;
            count(report, &changes, user);
            return Ok(());
        }
        Err(e) if refused_data(&e) => tx.rollback().await?,
        Err(e) => return Err(e.into()),
    }
    for (event, offset) in chunk {
        let mut tx = begin(pool, user, *release, report).await?;
        match apply_events(&mut tx, std::slice::from_ref(event), grace, None).await {
            Ok(changes) => {
                insert_gaps(&mut tx, &changes).await?;
                tx.commit().await?;
                count(report, &changes, user);
            }
            Err(e) if refused_data(&e) => {
                tx.rollback().await?;
                let reason = format!("refused by PostgreSQL: {e}");
                let quarantined = [Quarantined {
                    partition,
                    offset: *offset,
                    reason: reason.clone(),
                    payload: None,
                    stepped_over: Some((user.to_owned(), event.sequence)),
                }];
                let mut tx = begin(pool, user, *release, report).await?;
                insert_quarantine(&mut tx, topic, &quarantined).await?;
                tx.commit().await?;
                report.refused.push((*offset, reason));
            }
            Err(e) => return Err(e.into()),
        }
        *release = false;
    }
    Ok(())
}

/// A transaction holding the user's position row, as a live batch's does; until one commits, each
/// releases the user's hold (a rolled-back release is redone by the next).
async fn begin<'a>(
    pool: &'a PgPool,
    user: &str,
    release: bool,
    report: &mut ReplayReport,
) -> Result<Transaction<'a, Postgres>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT 1 FROM materializer.user_sequences WHERE user_id = $1 FOR UPDATE")
        .bind(user)
        .execute(&mut *tx)
        .await?;
    if release {
        let gap: Option<(i64, i64)> = sqlx::query_as(
            "DELETE FROM materializer.sequence_gaps WHERE user_id = $1 RETURNING applied, found",
        )
        .bind(user)
        .fetch_optional(&mut *tx)
        .await?;
        report.released = report.released.or(gap);
    }
    Ok(tx)
}

fn count(report: &mut ReplayReport, changes: &crate::apply::BatchChanges, user: &str) {
    report.applied += changes.applied;
    report.replays += changes.replays;
    report.deleted |= changes.deleted.contains(user);
}

/// A user's positions: (per-user, public) last applied sequences; `None` when they have none.
pub(crate) async fn positions(
    pool: &PgPool,
    user: &str,
) -> Result<Option<(u64, u64)>, sqlx::Error> {
    let row: Option<(i64, i64)> = sqlx::query_as(
        "SELECT last_sequence, public_sequence FROM materializer.user_sequences WHERE user_id = $1",
    )
    .bind(user)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(u, p)| (u64::try_from(u).unwrap_or(0), u64::try_from(p).unwrap_or(0))))
}
