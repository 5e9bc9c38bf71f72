//! Writing a batch to PostgreSQL: the rows it changes, the users' last sequences and the offsets
//! it reached, in one transaction, with set-based statements (UNNEST), one per table.

use crate::apply::{BatchChanges, fold};
use balados_schemas::EventEnvelope;
use sqlx::{PgPool, Postgres, Transaction};
use std::collections::{BTreeMap, HashMap};

/// An event that could not be decoded or applied, kept with its position.
#[derive(Debug, Clone)]
pub struct Quarantined {
    pub partition: i32,
    pub offset: i64,
    pub reason: String,
    pub payload: Option<Vec<u8>>,
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
    events: &[EventEnvelope],
    quarantined: &[Quarantined],
    next_offsets: &BTreeMap<i32, i64>,
) -> Result<BatchChanges, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let mut users: Vec<String> = events
        .iter()
        .map(|e| e.user_id.as_str().to_owned())
        .collect();
    users.sort_unstable();
    users.dedup();
    // FOR UPDATE: two materializers briefly owning one partition during a rebalance serialise
    // here instead of applying the same event twice.
    let stored: Vec<(String, i64)> = sqlx::query_as(
        "SELECT user_id, last_sequence FROM materializer.user_sequences WHERE user_id = ANY($1) ORDER BY user_id FOR UPDATE",
    )
    .bind(&users)
    .fetch_all(&mut *tx)
    .await?;
    let stored: HashMap<String, u64> = stored
        .into_iter()
        .map(|(u, s)| (u, u64::try_from(s).unwrap_or(0)))
        .collect();
    let changes = fold(events, &stored);
    upsert_subscriptions(&mut tx, &changes).await?;
    crate::models::upsert_episodes(&mut tx, &changes).await?;
    crate::models::upsert_privacy(&mut tx, &changes).await?;
    crate::models::upsert_devices(&mut tx, &changes).await?;
    upsert_sequences(&mut tx, &changes).await?;
    insert_quarantine(&mut tx, topic, quarantined).await?;
    upsert_offsets(&mut tx, consumer, topic, next_offsets).await?;
    tx.commit().await?;
    Ok(changes)
}

pub(crate) fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

async fn upsert_subscriptions(
    tx: &mut Transaction<'_, Postgres>,
    changes: &BatchChanges,
) -> Result<(), sqlx::Error> {
    if changes.subscriptions.is_empty() {
        return Ok(());
    }
    let n = changes.subscriptions.len();
    let (mut users, mut feeds, mut urls, mut sources) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut subscribed, mut unsubscribed, mut sequences) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for ((user, feed), patch) in &changes.subscriptions {
        users.push(user.clone());
        feeds.push(feed.clone());
        urls.push(patch.feed_url.clone());
        sources.push(patch.source_id.clone().flatten());
        subscribed.push(patch.subscribed_at);
        unsubscribed.push(patch.unsubscribed_at);
        sequences.push(to_i64(patch.last_sequence));
    }
    // A Subscribed event sets subscribed_at and source_id together, so a null subscribed_at
    // means "source_id untouched" too.
    sqlx::query(
        "INSERT INTO users.subscriptions AS t
             (user_id, feed_id, feed_url, source_id, subscribed_at, unsubscribed_at, last_sequence)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[], $7::bigint[])
         ON CONFLICT (user_id, feed_id) DO UPDATE SET
             source_id = CASE WHEN EXCLUDED.subscribed_at IS NOT NULL THEN EXCLUDED.source_id ELSE t.source_id END,
             subscribed_at = COALESCE(EXCLUDED.subscribed_at, t.subscribed_at),
             unsubscribed_at = COALESCE(EXCLUDED.unsubscribed_at, t.unsubscribed_at),
             last_sequence = GREATEST(t.last_sequence, EXCLUDED.last_sequence)",
    )
    .bind(users)
    .bind(feeds)
    .bind(urls)
    .bind(sources)
    .bind(subscribed)
    .bind(unsubscribed)
    .bind(sequences)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn upsert_sequences(
    tx: &mut Transaction<'_, Postgres>,
    changes: &BatchChanges,
) -> Result<(), sqlx::Error> {
    if changes.sequences.is_empty() {
        return Ok(());
    }
    let users: Vec<&str> = changes.sequences.keys().map(String::as_str).collect();
    let sequences: Vec<i64> = changes.sequences.values().map(|s| to_i64(*s)).collect();
    sqlx::query(
        "INSERT INTO materializer.user_sequences AS t (user_id, last_sequence)
         SELECT * FROM UNNEST($1::text[], $2::bigint[])
         ON CONFLICT (user_id) DO UPDATE SET last_sequence = GREATEST(t.last_sequence, EXCLUDED.last_sequence)",
    )
    .bind(users)
    .bind(sequences)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn insert_quarantine(
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
