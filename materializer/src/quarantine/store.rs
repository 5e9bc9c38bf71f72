//! The quarantine's rows in PostgreSQL, and the bytes of their events (kept, or read again from
//! the topic).

use super::Redriven;
use balados_platform::kafka::inspect::Inspector;
use balados_schemas::{Codec, Contract, EventEnvelope};
use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// A quarantined event, without its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub reason: String,
    pub recorded_at: DateTime<Utc>,
    /// Whether the bytes were kept (else the re-drive reads them from the topic).
    pub has_payload: bool,
}

/// The quarantined events, oldest first (at most `limit`).
pub async fn list(pool: &PgPool, limit: i64) -> Result<Vec<Row>, sqlx::Error> {
    let rows: Vec<(String, i32, i64, String, DateTime<Utc>, bool)> = sqlx::query_as(
        "SELECT topic, partition, \"offset\", reason, recorded_at, payload IS NOT NULL
         FROM materializer.quarantine ORDER BY recorded_at, topic, partition, \"offset\" LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(topic, partition, offset, reason, recorded_at, has_payload)| Row {
                topic,
                partition,
                offset,
                reason,
                recorded_at,
                has_payload,
            },
        )
        .collect())
}

/// The row's event, or why it does not decode (its bytes read from the topic if not kept).
pub(super) async fn event_of(
    pool: &PgPool,
    codec: &Codec,
    inspector: &Inspector,
    row: &Row,
) -> anyhow::Result<Result<EventEnvelope, String>> {
    let kept: Option<(Option<Vec<u8>>,)> = sqlx::query_as(
        "SELECT payload FROM materializer.quarantine
         WHERE topic = $1 AND partition = $2 AND \"offset\" = $3",
    )
    .bind(&row.topic)
    .bind(row.partition)
    .bind(row.offset)
    .fetch_optional(pool)
    .await?;
    let bytes = match kept.and_then(|(p,)| p) {
        Some(bytes) => bytes,
        None => match inspector.record_at(&row.topic, row.partition, row.offset)? {
            Some(record) if record.offset == row.offset => match record.value {
                Some(bytes) => bytes,
                None => return Ok(Err("the record on the topic has no value".into())),
            },
            _ => return Ok(Err("the record is no longer on the topic".into())),
        },
    };
    let decoded = crate::decode::decode_waiting(codec, Contract::Event, &bytes).await;
    Ok(decoded.and_then(|v| EventEnvelope::from_avro(v).map_err(|e| e.to_string())))
}

pub(super) async fn gap_of(pool: &PgPool, user: &str) -> Result<Option<(i64, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT applied, found FROM materializer.sequence_gaps WHERE user_id = $1")
        .bind(user)
        .fetch_optional(pool)
        .await
}

/// Deletes the row of an applied (or repaired) event; records the new reason of one that failed.
pub(super) async fn settle(
    pool: &PgPool,
    row: &Row,
    outcome: &Redriven,
) -> Result<(), sqlx::Error> {
    let (sql, reason) = match outcome {
        Redriven::Applied { .. } | Redriven::Repaired { .. } => (
            "DELETE FROM materializer.quarantine
             WHERE topic = $1 AND partition = $2 AND \"offset\" = $3",
            None,
        ),
        Redriven::StillFailing { reason } => (
            "UPDATE materializer.quarantine SET reason = $4
             WHERE topic = $1 AND partition = $2 AND \"offset\" = $3",
            Some(reason),
        ),
        Redriven::Held { .. } | Redriven::WouldDo { .. } | Redriven::Skipped { .. } => {
            return Ok(());
        }
    };
    let mut query = sqlx::query(sql)
        .bind(&row.topic)
        .bind(row.partition)
        .bind(row.offset);
    if let Some(reason) = reason {
        query = query.bind(reason);
    }
    query.execute(pool).await?;
    Ok(())
}
