//! Writing a batch to PostgreSQL: what the fold needs is read, and the rows it changes, the users'
//! positions and the offsets the batch reached are written, in one transaction, with set-based
//! statements (UNNEST), one per table.

mod deletion;
pub(crate) mod lists;
mod load;
pub(crate) mod per_user;
mod public;

use crate::apply::privacy::PrivacySettings;
use crate::apply::{BatchChanges, OnGap, Positions, fold, needs};
use balados_schemas::EventEnvelope;
use chrono::TimeDelta;
use sqlx::{PgPool, Postgres, Transaction};
use std::collections::{BTreeMap, HashMap};

/// An event that could not be decoded or applied, kept with its position.
#[derive(Debug, Clone)]
pub struct Quarantined {
    pub partition: i32,
    pub offset: i64,
    pub reason: String,
    pub payload: Option<Vec<u8>>,
    /// The user and sequence of an event that was decoded but refused: set aside with its reason,
    /// it is stepped over, so that the user's next event is not taken for a gap.
    pub stepped_over: Option<(String, u64)>,
}

/// Stored next offsets of `consumer` on `topic`, by partition.
pub async fn stored_offsets(
    pool: &PgPool,
    consumer: &str,
    topic: &str,
) -> Result<HashMap<i32, i64>, sqlx::Error> {
    let rows: Vec<(i32, i64)> =
        sqlx::query_as("SELECT partition, next_offset FROM materializer.offsets WHERE consumer = $1 AND topic = $2")
            .bind(consumer)
            .bind(topic)
            .fetch_all(pool)
            .await?;
    Ok(rows.into_iter().collect())
}

/// Applies `events` and records `next_offsets` atomically. Returns what was applied.
pub async fn write_batch(
    pool: &PgPool,
    consumer: &str,
    topic: &str,
    batch: Batch<'_>,
    grace: TimeDelta,
) -> Result<BatchChanges, sqlx::Error> {
    let mut tx = pool.begin().await?;
    lock_partitions(&mut tx, topic, batch.next_offsets).await?;
    let changes = apply_events(&mut tx, batch.events, grace, None).await?;
    insert_gaps(&mut tx, &changes).await?;
    insert_quarantine(&mut tx, topic, batch.quarantined).await?;
    upsert_offsets(&mut tx, consumer, topic, batch.next_offsets).await?;
    tx.commit().await?;
    Ok(changes)
}

/// Takes the batch's partitions for the transaction, in partition order. Two writers of one
/// partition (instances that both hold it for a moment during a rebalance, a lane still writing
/// what it had queued) take turns: the second reads the positions the first committed and drops
/// what it applied as replays — users without a position row yet included, whom the positions'
/// row locks cannot cover.
async fn lock_partitions(
    tx: &mut Transaction<'_, Postgres>,
    topic: &str,
    next: &BTreeMap<i32, i64>,
) -> Result<(), sqlx::Error> {
    if next.is_empty() {
        return Ok(());
    }
    let partitions: Vec<i32> = next.keys().copied().collect();
    sqlx::query(
        "SELECT pg_advisory_xact_lock(hashtext($1), p.partition)
         FROM UNNEST($2::int[]) WITH ORDINALITY AS p(partition, n) ORDER BY p.n",
    )
    .bind(topic)
    .bind(partitions)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Folds `events` over what is stored and writes the rows and the users' positions. The public
/// projection reads the users' stored privacy settings, unless `carried` holds them (a rebuild
/// replays the events with the settings as they were then, not as they are now); `carried` is
/// updated with the batch's changes.
pub(crate) async fn apply_events(
    tx: &mut Transaction<'_, Postgres>,
    events: &[EventEnvelope],
    grace: TimeDelta,
    carried: Option<&mut HashMap<String, PrivacySettings>>,
) -> Result<BatchChanges, sqlx::Error> {
    let needs = needs(events);
    let mut loaded = load::load(tx, &needs).await?;
    if let Some(carried) = &carried {
        loaded.privacy = needs
            .users
            .iter()
            .filter_map(|u| carried.get(u).map(|s| (u.clone(), s.clone())))
            .collect();
    }
    // A rebuild (settings carried) replays the retained events, which may start after a user's
    // first: it applies on where the live materializer holds.
    let on_gap = if carried.is_some() {
        OnGap::Accept
    } else {
        OnGap::Hold
    };
    let mut changes = fold(events, loaded, grace, on_gap);
    deletion::delete_users(tx, &changes.deleted).await?;
    per_user::write(tx, &changes.per_user).await?;
    lists::write(tx, &changes.lists).await?;
    public::write(tx, &changes.public).await?;
    upsert_positions(tx, &changes).await?;
    public::popularity(tx, &changes.public).await?;
    // Only once written: a batch PostgreSQL refuses leaves the carried settings as they were, and
    // is replayed event by event from them.
    if let Some(carried) = carried {
        carried.extend(std::mem::take(&mut changes.privacy_after));
    }
    Ok(changes)
}

/// One batch of a partition set: the decoded events, the ones quarantined, and the next offset per
/// partition once they are written.
#[derive(Debug, Clone, Copy)]
pub struct Batch<'a> {
    pub events: &'a [EventEnvelope],
    pub quarantined: &'a [Quarantined],
    pub next_offsets: &'a BTreeMap<i32, i64>,
}

pub(crate) fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(crate) async fn upsert_positions(
    tx: &mut Transaction<'_, Postgres>,
    changes: &BatchChanges,
) -> Result<(), sqlx::Error> {
    // A deleted user with nothing after the deletion keeps no position row (`deletion`).
    let positions: Vec<(&String, &Positions)> = changes
        .positions
        .iter()
        .filter(|(user, p)| !(changes.deleted.contains(*user) && **p == Positions::default()))
        .collect();
    if positions.is_empty() {
        return Ok(());
    }
    let users: Vec<&str> = positions.iter().map(|(u, _)| u.as_str()).collect();
    let (per_user, public): (Vec<i64>, Vec<i64>) = positions
        .iter()
        .map(|(_, p)| (to_i64(p.per_user), to_i64(p.public)))
        .unzip();
    let sync: Vec<i64> = positions.iter().map(|(_, p)| p.sync).collect();
    sqlx::query(
        "INSERT INTO materializer.user_sequences AS t (user_id, last_sequence, public_sequence, last_position)
         SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::bigint[], $4::bigint[])
         ON CONFLICT (user_id) DO UPDATE SET
             last_sequence = GREATEST(t.last_sequence, EXCLUDED.last_sequence),
             public_sequence = GREATEST(t.public_sequence, EXCLUDED.public_sequence),
             last_position = GREATEST(t.last_position, EXCLUDED.last_position)",
    )
    .bind(users)
    .bind(per_user)
    .bind(public)
    .bind(sync)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(crate) async fn insert_gaps(
    tx: &mut Transaction<'_, Postgres>,
    changes: &BatchChanges,
) -> Result<(), sqlx::Error> {
    for gap in &changes.gaps {
        sqlx::query(
            "INSERT INTO materializer.sequence_gaps (user_id, applied, found, event_id)
             VALUES ($1, $2, $3, $4) ON CONFLICT (user_id) DO NOTHING",
        )
        .bind(&gap.user)
        .bind(to_i64(gap.applied))
        .bind(to_i64(gap.found))
        .bind(gap.event_id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

pub(crate) async fn insert_quarantine(
    tx: &mut Transaction<'_, Postgres>,
    topic: &str,
    items: &[Quarantined],
) -> Result<(), sqlx::Error> {
    for item in items {
        sqlx::query(
            "INSERT INTO materializer.quarantine (topic, partition, \"offset\", reason, payload)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(topic)
        .bind(item.partition)
        .bind(item.offset)
        .bind(&item.reason)
        .bind(&item.payload)
        .execute(&mut **tx)
        .await?;
        if let Some((user, sequence)) = &item.stepped_over {
            // Only from just before it: a position elsewhere is a replay or a gap, left as it is.
            sqlx::query(
                "INSERT INTO materializer.user_sequences AS t (user_id, last_sequence, public_sequence)
                 VALUES ($1, 0, 0) ON CONFLICT (user_id) DO NOTHING",
            )
            .bind(user)
            .execute(&mut **tx)
            .await?;
            sqlx::query(
                "UPDATE materializer.user_sequences SET
                     last_sequence = CASE WHEN last_sequence = $2 - 1 THEN $2 ELSE last_sequence END,
                     public_sequence = CASE WHEN public_sequence = $2 - 1 THEN $2 ELSE public_sequence END
                 WHERE user_id = $1",
            )
            .bind(user)
            .bind(to_i64(*sequence))
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}

pub(crate) async fn upsert_offsets(
    tx: &mut Transaction<'_, Postgres>,
    consumer: &str,
    topic: &str,
    next: &BTreeMap<i32, i64>,
) -> Result<(), sqlx::Error> {
    let partitions: Vec<i32> = next.keys().copied().collect();
    let offsets: Vec<i64> = next.values().copied().collect();
    sqlx::query(
        "INSERT INTO materializer.offsets AS t (consumer, topic, partition, next_offset)
         SELECT $1, $2, p, o FROM UNNEST($3::int[], $4::bigint[]) AS u(p, o)
         ON CONFLICT (consumer, topic, partition) DO UPDATE
         SET next_offset = GREATEST(t.next_offset, EXCLUDED.next_offset), updated_at = now()",
    )
    .bind(consumer)
    .bind(topic)
    .bind(partitions)
    .bind(offsets)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
