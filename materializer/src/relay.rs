//! The relay of `site.public_event_outbox` to `public-events`: the public projection records, in
//! the transaction of each batch, which public events changed; the relay publishes their current
//! record (or a tombstone when the row is gone) keyed by event id, then deletes the relayed entries.
//!
//! Delivery guarantee: at least once, in outbox order. A crash between the broker's
//! acknowledgement and the delete republishes the same current values, which a compacted topic
//! and its readers absorb (the value for a key is always the latest state). One relay runs at a
//! time across materializer instances: each pass holds a transaction-scoped advisory lock.

use balados_platform::metrics::Metrics;
use balados_platform::producer::RenewableProducer;
use balados_platform::settings::KafkaSettings;
use balados_schemas::{Codec, Contract, PublicEvent};
use chrono::{DateTime, Utc};
use rdkafka::producer::{FutureProducer, FutureRecord};
use sqlx::PgPool;
use std::collections::HashSet;
use std::time::Duration;
use tokio::sync::watch;
use uuid::Uuid;

/// Entries relayed per pass.
const PASS: i64 = 1000;
/// The advisory lock that makes one relay run at a time ("balados-relay" in ASCII, truncated).
const LOCK: i64 = 0x6261_6c61_646f_7372;

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("PostgreSQL: {0}")]
    Database(#[from] sqlx::Error),
    #[error("encoding a public event: {0}")]
    Encode(#[from] balados_schemas::CodecError),
    #[error("the broker did not acknowledge a public event: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
}

#[derive(sqlx::FromRow)]
struct Entry {
    id: i64,
    event_id: Uuid,
    event_type: Option<String>,
    user_id: Option<String>,
    feed_url: Option<String>,
    guid: Option<String>,
    enclosure_url: Option<String>,
    occurred_at: Option<DateTime<Utc>>,
}

impl Entry {
    /// The current public record, or `None` for a tombstone.
    fn record(&self) -> Option<PublicEvent> {
        Some(PublicEvent {
            event_id: self.event_id,
            event_type: self.event_type.clone()?,
            user_id: self.user_id.clone(),
            feed_url: self.feed_url.clone()?,
            guid: self.guid.clone(),
            enclosure_url: self.enclosure_url.clone(),
            occurred_at: self.occurred_at?,
        })
    }
}

pub async fn run(
    kafka: KafkaSettings,
    topic: String,
    pool: PgPool,
    codec: Codec,
    metrics: Metrics,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let config = balados_platform::kafka::producer_config(&kafka, "balados-public-events");
    let producer = RenewableProducer::new(config)?;
    let mut idle = Duration::from_millis(50);
    // After a failure (broker or PostgreSQL gone): 1 s, doubling to at most 10 s.
    let mut failing = Duration::ZERO;
    let mut retired = false;
    loop {
        // Once a partition growth has copied this prefix's topics, the outbox (shared by every
        // instance) is filled by the successor's instances: relaying it here would publish to
        // the retired topic what the successor's readers must see.
        if !retired
            && matches!(
                crate::grow::retired_for_good(&pool, &kafka.topic_prefix).await,
                Ok(true)
            )
        {
            tracing::warn!(kafka.topic = %topic, "topics retired by a partition growth: public events no longer relayed here");
            retired = true;
        }
        if retired {
            tokio::select! {
                _ = shutdown.changed() => return Ok(()),
            }
        }
        let current = producer.get();
        let passed = pass(&pool, &current, &codec, &topic).await;
        if passed.is_ok() {
            failing = Duration::ZERO;
        }
        let pause = match passed {
            Ok(0) => idle,
            Ok(n) => {
                metrics.add(
                    "balados_public_events_relayed_total",
                    "Public event records (and tombstones) relayed to public-events.",
                    &[],
                    n as f64,
                );
                Duration::ZERO
            }
            Err(e) => {
                if matches!(e, RelayError::Kafka(_)) {
                    producer.renew_if_fatal(&current);
                }
                failing = (failing * 2).clamp(Duration::from_secs(1), Duration::from_secs(10));
                tracing::warn!(error = %e, retry_in_ms = failing.as_millis() as u64, "relaying public events failed; retrying");
                failing
            }
        };
        idle = if pause.is_zero() {
            Duration::from_millis(50)
        } else {
            (idle * 2).min(Duration::from_millis(500))
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = shutdown.changed() => return Ok(()),
        }
    }
}

/// One pass: returns how many entries it relayed (0 when another instance holds the lock).
async fn pass(
    pool: &PgPool,
    producer: &FutureProducer,
    codec: &Codec,
    topic: &str,
) -> Result<usize, RelayError> {
    let mut tx = pool.begin().await?;
    let (locked,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_xact_lock($1)")
        .bind(LOCK)
        .fetch_one(&mut *tx)
        .await?;
    if !locked {
        return Ok(0);
    }
    let entries: Vec<Entry> = sqlx::query_as(
        "SELECT o.id, o.event_id, p.event_type, p.user_id, p.feed_url, p.guid, p.enclosure_url,
                p.occurred_at
         FROM site.public_event_outbox o LEFT JOIN site.public_events p USING (event_id)
         ORDER BY o.id LIMIT $1",
    )
    .bind(PASS)
    .fetch_all(&mut *tx)
    .await?;
    let Some(last) = entries.last().map(|e| e.id) else {
        return Ok(0);
    };
    // Every entry publishes the current value: an event listed twice is sent once.
    let mut seen = HashSet::new();
    let mut records = Vec::new();
    for entry in entries.iter().rev() {
        if seen.insert(entry.event_id) {
            let value = match entry.record() {
                Some(record) => Some(codec.encode(Contract::PublicEvent, record.to_avro())?),
                None => None,
            };
            records.push((entry.event_id.to_string(), value));
        }
    }
    records.reverse();
    // Enqueue everything, then wait for every acknowledgement.
    let mut deliveries = Vec::with_capacity(records.len());
    for (key, value) in &records {
        let mut record = FutureRecord::<str, [u8]>::to(topic).key(key.as_str());
        if let Some(bytes) = value {
            record = record.payload(bytes.as_slice());
        }
        deliveries.push(producer.send_result(record).map_err(|(e, _)| e)?);
    }
    for delivery in deliveries {
        match delivery.await {
            Ok(Ok(_)) => {}
            Ok(Err((e, _))) => return Err(e.into()),
            Err(_cancelled) => return Err(rdkafka::error::KafkaError::Canceled.into()),
        }
    }
    sqlx::query("DELETE FROM site.public_event_outbox WHERE id <= $1")
        .bind(last)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(entries.len())
}
