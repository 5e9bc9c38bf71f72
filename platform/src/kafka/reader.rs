//! Reading one partition whole, outside any consumer group: from its beginning (or an offset) to
//! an end fixed when reading starts — a marker produced now, or the high watermark — in chunks.
//! The aggregator's restore and the materializer's rebuild and repair read `user-state` this way
//! (and judge its records with `committed`).
//!
//! Why a marker: the high watermark cannot be trusted on every broker (tansu answers the start of
//! its last batch + 1), and it says nothing of records still being written. A marker produced to
//! the partition and read back proves that everything before it has been read. It is a tombstone
//! under a key no user id can take (user ids have no '/'), so readers skip it and compaction
//! removes it.

use super::committed::source_offset_of;
use crate::settings::KafkaSettings;
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::error::KafkaError;
use rdkafka::message::Message as _;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use std::time::{Duration, Instant};

/// How long metadata and watermark requests may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a marker may take to be acknowledged.
const MARKER_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("Kafka: {0}")]
    Kafka(#[from] KafkaError),
    #[error("topic {topic} has no partitions (does it exist?)")]
    NoPartitions { topic: String },
    #[error(
        "{topic}[{partition}]: no progress toward offset {end} in {waited_s} s (an open transaction?)"
    )]
    Stalled {
        topic: String,
        partition: i32,
        end: i64,
        waited_s: u64,
    },
}

/// One record read, with the source offset a tombstone of `user-state` carries in its header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub source_offset: Option<i64>,
}

impl Record {
    /// The key as text; `None` when absent or not UTF-8.
    pub fn key_str(&self) -> Option<&str> {
        self.key
            .as_deref()
            .and_then(|k| std::str::from_utf8(k).ok())
    }
}

/// The key of a marker: `__{purpose}-marker__/{unique}`, never a state key.
pub fn marker_key(purpose: &str, unique: uuid::Uuid) -> String {
    format!("__{purpose}-marker__/{unique}")
}

/// Produces the markers that say where a partition ends, for one purpose (`restore`, `rebuild`).
pub struct Markers {
    producer: FutureProducer,
    purpose: &'static str,
}

impl std::fmt::Debug for Markers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Markers")
            .field("purpose", &self.purpose)
            .finish_non_exhaustive()
    }
}

impl Markers {
    pub fn new(
        settings: &KafkaSettings,
        client_id: &str,
        purpose: &'static str,
    ) -> Result<Self, KafkaError> {
        Ok(Self {
            producer: super::producer_config(settings, client_id).create()?,
            purpose,
        })
    }

    /// Produces a marker to `partition` of `topic`; returns the end to read to (its offset + 1).
    pub async fn place(&self, topic: &str, partition: i32) -> Result<i64, KafkaError> {
        let key = marker_key(self.purpose, uuid::Uuid::new_v4());
        let record = FutureRecord::<str, [u8]>::to(topic)
            .partition(partition)
            .key(&key);
        let delivery = self.producer.send(record, MARKER_TIMEOUT).await;
        Ok(delivery.map_err(|(e, _)| e)?.offset + 1)
    }
}

/// A partition being read: where reading ends (exclusive), and whether it got there.
#[derive(Debug)]
pub struct Cursor {
    topic: String,
    partition: i32,
    end: i64,
    done: bool,
}

impl Cursor {
    pub fn partition(&self) -> i32 {
        self.partition
    }

    pub fn end(&self) -> i64 {
        self.end
    }

    /// Read to its end.
    pub fn done(&self) -> bool {
        self.done
    }
}

/// A plain consumer of this process's settings (no group membership: partitions are assigned),
/// reading one partition at a time.
pub struct PartitionReader {
    consumer: BaseConsumer,
}

impl std::fmt::Debug for PartitionReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartitionReader").finish_non_exhaustive()
    }
}

impl PartitionReader {
    /// `group` only names the reader to the broker; it commits nothing.
    pub fn new(settings: &KafkaSettings, client_id: &str, group: &str) -> Result<Self, KafkaError> {
        Self::reading(settings, client_id, group, super::isolation_level(settings))
    }

    /// A reader that also sees records of transactions not (yet) committed, for a reader that
    /// tells them apart itself (`committed::written_by_uncommitted_work`): a transaction left
    /// open — a fenced zombie's, or one the broker never ends — cannot hold it back, where a
    /// read_committed reader waits at the last stable offset until the transaction times out.
    pub fn including_uncommitted(
        settings: &KafkaSettings,
        client_id: &str,
        group: &str,
    ) -> Result<Self, KafkaError> {
        Self::reading(settings, client_id, group, "read_uncommitted")
    }

    fn reading(
        settings: &KafkaSettings,
        client_id: &str,
        group: &str,
        isolation: &str,
    ) -> Result<Self, KafkaError> {
        let consumer = super::client_config(settings, client_id)
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("isolation.level", isolation)
            .set("fetch.wait.max.ms", settings.fetch_wait_max_ms.to_string())
            .create()?;
        Ok(Self { consumer })
    }

    /// How many partitions `topic` has (an error when it has none: it does not exist).
    pub fn partitions(&self, topic: &str) -> Result<i32, ReadError> {
        let metadata = self.consumer.fetch_metadata(Some(topic), REQUEST_TIMEOUT)?;
        let count = metadata
            .topics()
            .first()
            .map_or(0, |t| t.partitions().len());
        match i32::try_from(count) {
            Ok(count) if count > 0 => Ok(count),
            _ => Err(ReadError::NoPartitions {
                topic: topic.to_owned(),
            }),
        }
    }

    /// Reads `partition` from its beginning to `end` (exclusive; see [`Markers::place`]).
    pub fn from_beginning(
        &self,
        topic: &str,
        partition: i32,
        end: i64,
    ) -> Result<Cursor, KafkaError> {
        self.assign(topic, partition, Offset::Beginning, end)
    }

    /// Reads `partition` from `start` to `end` (exclusive).
    pub fn from_offset(
        &self,
        topic: &str,
        partition: i32,
        start: i64,
        end: i64,
    ) -> Result<Cursor, KafkaError> {
        self.assign(topic, partition, Offset::Offset(start), end)
    }

    /// Reads `partition` from its beginning to its high watermark now.
    pub fn to_high_watermark(&self, topic: &str, partition: i32) -> Result<Cursor, KafkaError> {
        let (low, high) = self
            .consumer
            .fetch_watermarks(topic, partition, REQUEST_TIMEOUT)?;
        let mut cursor = self.from_beginning(topic, partition, high)?;
        cursor.done = high <= low;
        Ok(cursor)
    }

    fn assign(
        &self,
        topic: &str,
        partition: i32,
        start: Offset,
        end: i64,
    ) -> Result<Cursor, KafkaError> {
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, partition, start)?;
        self.consumer.assign(&tpl)?;
        Ok(Cursor {
            topic: topic.to_owned(),
            partition,
            end,
            done: false,
        })
    }

    /// The next records (at most `max`), waiting at most `wait` for them: fewer, or none, when
    /// `wait` ran out first (see [`Cursor::done`]); none once the partition is read to its end.
    pub fn next(
        &self,
        cursor: &mut Cursor,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<Record>, KafkaError> {
        let deadline = Instant::now() + wait;
        let mut records = Vec::new();
        while !cursor.done && records.len() < max {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                break;
            }
            match self
                .consumer
                .poll(remaining.min(Duration::from_millis(100)))
            {
                Some(message) => {
                    let message = message?;
                    let record = Record {
                        offset: message.offset(),
                        key: message.key().map(<[u8]>::to_vec),
                        value: message.payload().map(<[u8]>::to_vec),
                        source_offset: message.headers().and_then(source_offset_of),
                    };
                    cursor.done = reached(cursor.end, Some(record.offset), None);
                    records.push(record);
                }
                // The position, not the last record, says where reading is when nothing comes:
                // transaction markers take offsets that are never delivered.
                None => cursor.done = reached(cursor.end, None, Some(self.position(cursor)?)),
            }
        }
        Ok(records)
    }

    /// As [`PartitionReader::next`], an error when nothing came for `patience`: reading must end.
    pub fn next_or_stall(
        &self,
        cursor: &mut Cursor,
        max: usize,
        patience: Duration,
    ) -> Result<Vec<Record>, ReadError> {
        let records = self.next(cursor, max, patience)?;
        if records.is_empty() && !cursor.done {
            return Err(ReadError::Stalled {
                topic: cursor.topic.clone(),
                partition: cursor.partition,
                end: cursor.end,
                waited_s: patience.as_secs(),
            });
        }
        Ok(records)
    }

    fn position(&self, cursor: &Cursor) -> Result<i64, KafkaError> {
        Ok(self
            .consumer
            .position()?
            .find_partition(&cursor.topic, cursor.partition)
            .and_then(|e| e.offset().to_raw())
            .unwrap_or(-1))
    }
}

/// Whether reading reached `end` (exclusive): the last record read is just before it, or the
/// consumer's position (the next offset to fetch) is at or beyond it.
fn reached(end: i64, last_record: Option<i64>, position: Option<i64>) -> bool {
    last_record.is_some_and(|o| o + 1 >= end) || position.is_some_and(|p| p >= end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marker_key_is_never_a_state_key() {
        let key = marker_key("restore", uuid::Uuid::nil());
        assert_eq!(
            key,
            "__restore-marker__/00000000-0000-0000-0000-000000000000"
        );
        assert!(balados_schemas::StateKey::decode(&key).is_none());
        let key = marker_key("rebuild", uuid::Uuid::new_v4());
        assert!(balados_schemas::StateKey::decode(&key).is_none());
    }

    #[test]
    fn reading_ends_at_the_marker_or_past_it() {
        // A marker at offset 41: the end is 42.
        assert!(!reached(42, Some(40), None));
        assert!(reached(42, Some(41), None), "the marker itself");
        // Transaction markers after the last record: only the position says the end is reached.
        assert!(!reached(42, None, Some(40)));
        assert!(reached(42, None, Some(42)));
        assert!(reached(42, None, Some(45)));
        // No position yet (-1): not reached.
        assert!(!reached(1, None, Some(-1)));
    }
}
