//! The backlog: the workload's events, encoded as the aggregator encodes them (Avro, Confluent
//! wire format, schema from the registry) and produced to the events topic of a fresh prefix,
//! keyed by user id with the project's client settings (its partitioner included).

use crate::workload::Workload;
use balados_platform::Settings;
use balados_schemas::{Codec, Contract};
use rdkafka::producer::{FutureProducer, FutureRecord};
use std::collections::BTreeMap;
use std::time::Instant;

/// Produced events and, per partition, the offset just past the last one.
#[derive(Debug)]
pub struct Backlog {
    pub events: u64,
    pub end_offsets: BTreeMap<i32, i64>,
}

impl Backlog {
    /// Whether `reached` (next offset per partition) covers the whole backlog.
    pub fn covered_by(&self, reached: &BTreeMap<i32, i64>) -> bool {
        self.end_offsets
            .iter()
            .all(|(p, end)| reached.get(p).is_some_and(|r| r >= end))
    }

    /// Events below `reached`: those already materialized.
    pub fn below(&self, reached: &BTreeMap<i32, i64>) -> u64 {
        reached
            .values()
            .map(|o| u64::try_from(*o).unwrap_or(0))
            .sum()
    }
}

/// Creates the topics of `settings`' prefix and produces `events` events over `users` users.
pub async fn produce(settings: &Settings, events: u64, users: u64) -> anyhow::Result<Backlog> {
    let topics = settings.topics();
    balados_platform::kafka::ensure_topics(
        &settings.kafka,
        &topics.specs(settings.kafka.partitions),
    )
    .await?;
    let codec = Codec::connect(
        // With the operator credential of the caller's BALADOS__SCHEMA_REGISTRY__* settings.
        settings.schema_registry.client()?,
        &topics,
        &[Contract::Event],
        true,
    )
    .await?;
    let producer: FutureProducer =
        balados_platform::kafka::client_config(&settings.kafka, "balados-bench")
            .set("linger.ms", "20")
            .set("enable.idempotence", "true")
            .create()?;
    let started = Instant::now();
    let mut end_offsets = BTreeMap::new();
    let mut pending = Vec::new();
    let mut produced = 0;
    for event in Workload::new(events, users) {
        let bytes = codec.encode(Contract::Event, event.to_avro())?;
        let record = FutureRecord::to(&topics.events)
            .key(event.user_id.as_str())
            .payload(&bytes);
        pending.push(producer.send_result(record).map_err(|(e, _)| e)?);
        produced += 1;
        if pending.len() >= 10_000 {
            await_all(&mut pending, &mut end_offsets).await?;
        }
    }
    await_all(&mut pending, &mut end_offsets).await?;
    println!(
        "produced {produced} events over {users} users to {} ({} partitions) in {:.1} s",
        topics.events,
        settings.kafka.partitions,
        started.elapsed().as_secs_f64()
    );
    Ok(Backlog {
        events: produced,
        end_offsets,
    })
}

/// The delivery reports name the offsets: this broker's high watermark cannot be trusted after a
/// multi-record batch (docs/broker-compatibility.md).
async fn await_all(
    pending: &mut Vec<rdkafka::producer::DeliveryFuture>,
    end_offsets: &mut BTreeMap<i32, i64>,
) -> anyhow::Result<()> {
    for p in pending.drain(..) {
        let delivery = p.await?.map_err(|(e, _)| e)?;
        let end = end_offsets.entry(delivery.partition).or_insert(0);
        *end = (*end).max(delivery.offset + 1);
    }
    Ok(())
}
