//! The copying of a growth: records read with the operator's inspector (which finds where a
//! partition really ends on every broker) and produced to the successor's topics, enqueued a chunk
//! at a time and acknowledged in order (the producer keeps each partition's order: idempotent, or
//! one request in flight).

use super::{CLIENT_ID, GrowError, GrowReport};
use balados_platform::Settings;
use balados_platform::kafka::inspect::{Inspected, Inspector};
use balados_platform::kafka::partitioner::partition_for;
use balados_schemas::UserId;
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// Records read, and enqueued, at a time.
const CHUNK: usize = 5000;

/// The producer of a growth, writing to the successor's topics.
pub(super) struct Output {
    producer: FutureProducer,
}

impl Output {
    pub(super) fn new(successor: &Settings) -> Result<Self, GrowError> {
        let producer = balados_platform::kafka::producer_config(&successor.kafka, CLIENT_ID)
            .create()
            .map_err(anyhow::Error::from)?;
        Ok(Self { producer })
    }

    /// Enqueues one record (waiting for room when the producer's queue is full); `timestamp`
    /// keeps a copied record's time, so that retention ages it as it would have the original.
    async fn enqueue(
        &self,
        topic: &str,
        (partition, timestamp): (Option<i32>, Option<i64>),
        key: &[u8],
        value: Option<&[u8]>,
        headers: &[(String, Option<Vec<u8>>)],
    ) -> Result<DeliveryFuture, GrowError> {
        let mut record = FutureRecord::<[u8], [u8]>::to(topic).key(key);
        if let Some(p) = partition {
            record = record.partition(p);
        }
        if let Some(ms) = timestamp {
            record = record.timestamp(ms);
        }
        if let Some(bytes) = value {
            record = record.payload(bytes);
        }
        if !headers.is_empty() {
            let owned = headers.iter().fold(OwnedHeaders::new(), |h, (k, v)| {
                h.insert(Header {
                    key: k,
                    value: v.as_deref(),
                })
            });
            record = record.headers(owned);
        }
        loop {
            match self.producer.send_result(record) {
                Ok(delivery) => return Ok(delivery),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err((e, _)) => return Err(GrowError::Other(e.into())),
            }
        }
    }

    /// Produces `(partition, key, value)` records, a chunk enqueued at a time, each chunk
    /// acknowledged before the next; the count produced.
    pub(super) async fn send_all(
        &self,
        topic: &str,
        records: &[(i32, Vec<u8>, Vec<u8>)],
    ) -> Result<u64, GrowError> {
        let mut sent = 0;
        for chunk in records.chunks(CHUNK) {
            let mut pending = Vec::with_capacity(chunk.len());
            for (partition, key, value) in chunk {
                pending.push(
                    self.enqueue(topic, (Some(*partition), None), key, Some(value), &[])
                        .await?,
                );
            }
            for delivery in pending {
                acknowledged(delivery).await?;
                sent += 1;
            }
        }
        Ok(sent)
    }
}

async fn acknowledged(delivery: DeliveryFuture) -> Result<i64, GrowError> {
    match delivery.await {
        Ok(Ok(d)) => Ok(d.offset),
        Ok(Err((e, _))) => Err(GrowError::Other(e.into())),
        Err(_cancelled) => Err(GrowError::Other(
            rdkafka::error::KafkaError::Canceled.into(),
        )),
    }
}

/// Every record of `partition` from its first retained one, a chunk at a time.
fn chunks<'a>(
    inspector: &'a Inspector,
    topic: &'a str,
    partition: i32,
) -> Result<impl FnMut() -> Result<Vec<Inspected>, GrowError> + 'a, GrowError> {
    let mut next = inspector
        .watermarks(topic, partition)
        .map_err(anyhow::Error::from)?
        .low;
    Ok(move || {
        let (records, reached) = inspector
            .read(topic, partition, next, CHUNK)
            .map_err(anyhow::Error::from)?;
        next = reached;
        Ok(records)
    })
}

/// Copies the events of `from` partitions, each to its user's partition of `to`; where each user's
/// last event landed.
pub(super) async fn events(
    inspector: &Inspector,
    out: &Output,
    old: &str,
    from: i32,
    new: &str,
    report: &mut GrowReport,
) -> Result<HashMap<UserId, i64>, GrowError> {
    let partitions = inspector
        .partition_count(new)
        .map_err(anyhow::Error::from)?
        .ok_or_else(|| GrowError::Refused(format!("{new} has no partitions")))?;
    let mut last = HashMap::new();
    for partition in 0..from {
        let mut next = chunks(inspector, old, partition)?;
        loop {
            let records = next()?;
            if records.is_empty() {
                break;
            }
            let mut pending = Vec::with_capacity(records.len());
            for record in &records {
                let Some(key) = record.key.as_deref() else {
                    continue; // an event always has its user id as key
                };
                let target = partition_for(key, partitions);
                let delivery = out
                    .enqueue(
                        new,
                        (Some(target), record.timestamp_ms),
                        key,
                        record.value.as_deref(),
                        &record.headers,
                    )
                    .await?;
                pending.push((key, delivery));
            }
            for (key, delivery) in pending {
                let offset = acknowledged(delivery).await?;
                if let Some(user) = std::str::from_utf8(key)
                    .ok()
                    .and_then(|k| UserId::parse(k).ok())
                {
                    last.insert(user, offset);
                }
                report.events += 1;
            }
        }
    }
    Ok(last)
}

/// Copies the latest record of each key of a compacted topic (a key whose latest is a tombstone
/// is left out); the count copied.
pub(super) async fn latest_by_key(
    inspector: &Inspector,
    out: &Output,
    old: &str,
    new: &str,
) -> Result<u64, GrowError> {
    let count = inspector
        .partition_count(old)
        .map_err(anyhow::Error::from)?
        .unwrap_or(0);
    let mut latest: BTreeMap<Vec<u8>, Inspected> = BTreeMap::new();
    for partition in 0..count {
        let mut next = chunks(inspector, old, partition)?;
        loop {
            let records = next()?;
            if records.is_empty() {
                break;
            }
            for record in records {
                if let Some(key) = record.key.clone() {
                    latest.insert(key, record);
                }
            }
        }
    }
    let mut pending = Vec::new();
    for (key, record) in latest.iter().filter(|(_, r)| r.value.is_some()) {
        pending.push(
            out.enqueue(
                new,
                (None, record.timestamp_ms),
                key,
                record.value.as_deref(),
                &record.headers,
            )
            .await?,
        );
    }
    let copied = pending.len() as u64;
    for delivery in pending {
        acknowledged(delivery).await?;
    }
    Ok(copied)
}

/// Copies every record of a one-partition topic, in order; the count copied.
pub(super) async fn all(
    inspector: &Inspector,
    out: &Output,
    old: &str,
    new: &str,
) -> Result<u64, GrowError> {
    let mut copied = 0;
    let mut next = chunks(inspector, old, 0)?;
    loop {
        let records = next()?;
        if records.is_empty() {
            return Ok(copied);
        }
        let mut pending = Vec::with_capacity(records.len());
        for record in &records {
            let key = record.key.as_deref().unwrap_or_default();
            pending.push(
                out.enqueue(
                    new,
                    (Some(0), record.timestamp_ms),
                    key,
                    record.value.as_deref(),
                    &record.headers,
                )
                .await?,
            );
        }
        for delivery in pending {
            acknowledged(delivery).await?;
            copied += 1;
        }
    }
}

/// Where each partition of `topic` ends.
pub(super) fn ends(
    inspector: &Inspector,
    topic: &str,
    partitions: i32,
) -> Result<BTreeMap<i32, i64>, GrowError> {
    (0..partitions)
        .map(|p| {
            let marks = inspector
                .watermarks(topic, p)
                .map_err(anyhow::Error::from)?;
            Ok((p, marks.high))
        })
        .collect()
}

pub(super) fn is_empty(
    inspector: &Inspector,
    topic: &str,
    partitions: i32,
) -> Result<bool, GrowError> {
    Ok(ends(inspector, topic, partitions)?
        .values()
        .all(|end| *end == 0))
}

/// The first record of `partition` at or after `offset`, if any.
pub(super) fn first_after(
    inspector: &Inspector,
    topic: &str,
    partition: i32,
    offset: i64,
) -> Result<Option<Inspected>, GrowError> {
    Ok(inspector
        .record_at(topic, partition, offset)
        .map_err(anyhow::Error::from)?)
}

/// Whether no record is left at or after each partition's `positions` (transaction markers are no
/// records: a consumer never sees them).
pub(super) fn nothing_after(
    inspector: &Inspector,
    topic: &str,
    positions: &BTreeMap<i32, i64>,
) -> Result<bool, GrowError> {
    for (partition, offset) in positions {
        if first_after(inspector, topic, *partition, *offset)?.is_some() {
            return Ok(false);
        }
    }
    Ok(true)
}
