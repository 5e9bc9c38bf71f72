//! Command outcomes: `command-results` → `users.command_outcomes`, for `GET /api/v1/commands/{id}`.
//!
//! Delivery guarantee: exactly-once in effect. Group `{prefix}.materializer.outcomes`,
//! read_committed (read_uncommitted without transactions); the next offset per partition is stored in PostgreSQL in the same transaction
//! as the rows, and rows are inserted once per command id (a replay, or the repeated outcome of a
//! retried command, changes nothing). Group offsets are not used to resume.

use crate::runner::batching;
use crate::sink::{stored_offsets, upsert_offsets};
use balados_platform::Settings;
use balados_platform::kafka::poll::recv_batch;
use balados_schemas::{Codec, CommandResult, Contract};
use rdkafka::consumer::{Consumer as _, StreamConsumer};
use rdkafka::message::Message as _;
use sqlx::PgPool;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use tokio::sync::watch;

pub async fn run(
    settings: Settings,
    pool: PgPool,
    codec: Codec,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let topic = settings.topics().command_results;
    let group = format!("{}.materializer.outcomes", settings.kafka.topic_prefix);
    let consumer: StreamConsumer = balados_platform::kafka::group_consumer_config(
        &settings.kafka,
        "balados-materializer-outcomes",
        &group,
    )
    .create()?;
    consumer.subscribe(&[&topic])?;
    let batching = batching(&settings);
    let mut next: HashMap<i32, i64> = HashMap::new();
    loop {
        let batch = tokio::select! {
            batch = recv_batch(&consumer, &batching, "materializer-outcomes") => batch,
            _ = shutdown.changed() => break,
        };
        if batch.is_empty() {
            continue;
        }
        if batch.iter().any(|m| !next.contains_key(&m.partition())) {
            match stored_offsets(&pool, &group, &topic).await {
                Ok(stored) => {
                    for m in &batch {
                        next.entry(m.partition())
                            .or_insert_with(|| stored.get(&m.partition()).copied().unwrap_or(0));
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "reading stored offsets failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            }
        }
        let mut results = Vec::with_capacity(batch.len());
        let mut reached: BTreeMap<i32, i64> = BTreeMap::new();
        for message in batch.iter().filter(|m| m.offset() >= next[&m.partition()]) {
            reached.insert(message.partition(), message.offset() + 1);
            // An empty record is not an outcome (an ingest instance marks where it starts
            // reading its replies with one).
            let Some(bytes) = message.payload() else {
                continue;
            };
            let decoded = decode(&codec, bytes).await;
            match decoded {
                Ok(result) => results.push(result),
                // An outcome is informational; a bad one is logged and counted, not retried forever.
                Err(reason) => tracing::warn!(
                    kafka.partition = message.partition(),
                    kafka.offset = message.offset(),
                    reason,
                    "undecodable command result skipped"
                ),
            }
        }
        if reached.is_empty() {
            continue;
        }
        let mut delay = Duration::from_millis(200);
        loop {
            match write(&pool, &group, &topic, &results, &reached).await {
                Ok(()) => break,
                Err(e) => tracing::warn!(error = %e, "writing command outcomes failed; retrying"),
            }
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = shutdown.changed() => return Ok(()),
            }
            delay = (delay * 2).min(Duration::from_secs(5));
        }
        next.extend(reached);
    }
    consumer.unsubscribe();
    Ok(())
}

async fn decode(codec: &Codec, bytes: &[u8]) -> Result<CommandResult, String> {
    let value = crate::decode::decode_waiting(codec, Contract::CommandResult, bytes).await?;
    CommandResult::from_avro(value).map_err(|e| e.to_string())
}

async fn write(
    pool: &PgPool,
    group: &str,
    topic: &str,
    results: &[CommandResult],
    reached: &BTreeMap<i32, i64>,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    if !results.is_empty() {
        let ids: Vec<uuid::Uuid> = results.iter().map(|r| r.command_id).collect();
        let users: Vec<&str> = results.iter().map(|r| r.user_id.as_str()).collect();
        let codes: Vec<Option<&str>> = results
            .iter()
            .map(|r| r.rejection_code.as_deref())
            .collect();
        let messages: Vec<Option<&str>> = results.iter().map(|r| r.message.as_deref()).collect();
        let firsts: Vec<i64> = results
            .iter()
            .map(|r| i64::try_from(r.first_sequence).unwrap_or(i64::MAX))
            .collect();
        let counts: Vec<i32> = results
            .iter()
            .map(|r| i32::try_from(r.event_count).unwrap_or(i32::MAX))
            .collect();
        let partitions: Vec<i32> = results.iter().map(|r| r.events_partition).collect();
        let offsets: Vec<i64> = results.iter().map(|r| r.events_next_offset).collect();
        let clamped: Vec<bool> = results.iter().map(|r| r.clamped).collect();
        // DISTINCT ON keeps one row per command id within the batch (the first: the original).
        sqlx::query(
            "INSERT INTO users.command_outcomes
                 (command_id, user_id, rejection_code, message, first_sequence, event_count, events_partition, events_next_offset, clamped)
             SELECT DISTINCT ON (id) id, u, c, m, f, n, p, o, k
             FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::int[], $7::int[], $8::bigint[], $9::bool[])
                  WITH ORDINALITY AS t(id, u, c, m, f, n, p, o, k, ord)
             ORDER BY id, ord
             ON CONFLICT (command_id) DO NOTHING",
        )
        .bind(ids)
        .bind(users)
        .bind(codes)
        .bind(messages)
        .bind(firsts)
        .bind(counts)
        .bind(partitions)
        .bind(offsets)
        .bind(clamped)
        .execute(&mut *tx)
        .await?;
    }
    upsert_offsets(&mut tx, group, topic, reached).await?;
    tx.commit().await
}
