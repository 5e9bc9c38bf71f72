//! What an operator's tools read from the broker (`balados admin lag | describe | dead-letters`,
//! the quarantine's re-drive): partition counts, where a partition starts and ends, the records
//! from an offset, a group's committed offsets, topic configs. Read-only: nothing is produced or
//! committed, no group is joined.
//!
//! Where a partition ends: the high watermark a ListOffsets request answers is wrong on tansu (the
//! start of the partition's last batch + 1, docs/broker-compatibility.md), the one fetch responses
//! carry is right. So the end is found by reading from just before the listed one until librdkafka
//! reports the end of the partition (partition EOF, judged by the fetch's high watermark): one
//! record on Kafka, at most the last batch on tansu.

use super::client_config;
use crate::settings::KafkaSettings;
use rdkafka::admin::{AdminClient, AdminOptions, ResourceSpecifier};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::error::KafkaError;
use rdkafka::message::{Headers as _, Message as _};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long reading may go without a record or the end before it is abandoned.
const PATIENCE: Duration = Duration::from_secs(15);

/// The topic configs that decide how long records stay.
pub const CONFIGS_THAT_MATTER: [&str; 5] = [
    "cleanup.policy",
    "retention.ms",
    "retention.bytes",
    "segment.bytes",
    "segment.ms",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Watermarks {
    /// The first offset still held.
    pub low: i64,
    /// What the broker answers to a ListOffsets request (wrong on tansu).
    pub listed_high: i64,
    /// The offset after the last record, as reading finds it.
    pub high: i64,
}

/// One record, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspected {
    pub offset: i64,
    /// Milliseconds since the epoch (the producer's create time, or the broker's log-append time).
    pub timestamp_ms: Option<i64>,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

impl Inspected {
    /// The value of the first header `name`, as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.as_deref())
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error("Kafka: {0}")]
    Kafka(#[from] KafkaError),
    #[error("{topic}[{partition}]: neither a record nor the end came within {waited_s} s{}", last_error.as_ref().map(|e| format!(" (last error: {e})")).unwrap_or_default())]
    Stalled {
        topic: String,
        partition: i32,
        waited_s: u64,
        last_error: Option<String>,
    },
}

/// A consumer that is assigned one partition at a time, outside any group.
pub struct Inspector {
    consumer: BaseConsumer,
}

impl std::fmt::Debug for Inspector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inspector").finish_non_exhaustive()
    }
}

impl Inspector {
    /// `client_id` names it to the broker; its group id is never joined nor committed to.
    pub fn new(settings: &KafkaSettings, client_id: &str) -> Result<Self, KafkaError> {
        let consumer = client_config(settings, client_id)
            .set("group.id", format!("{client_id}.inspect"))
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "true")
            .set("auto.offset.reset", "earliest")
            .set("isolation.level", super::isolation_level(settings))
            .set("fetch.wait.max.ms", settings.fetch_wait_max_ms.to_string())
            .create()?;
        Ok(Self { consumer })
    }

    /// How many partitions `topic` has; `None` when it does not exist.
    pub fn partition_count(&self, topic: &str) -> Result<Option<i32>, KafkaError> {
        let metadata = self.consumer.fetch_metadata(Some(topic), REQUEST_TIMEOUT)?;
        let count = metadata
            .topics()
            .first()
            .filter(|t| t.error().is_none())
            .map_or(0, |t| t.partitions().len());
        Ok(i32::try_from(count).ok().filter(|c| *c > 0))
    }

    /// Where `partition` of `topic` starts and ends (see the module's comment for the end).
    pub fn watermarks(&self, topic: &str, partition: i32) -> Result<Watermarks, InspectError> {
        let (low, listed_high) =
            self.consumer
                .fetch_watermarks(topic, partition, REQUEST_TIMEOUT)?;
        let (_, high) = self.read(topic, partition, (listed_high - 1).max(low), 0)?;
        Ok(Watermarks {
            low,
            listed_high,
            high: high.max(listed_high),
        })
    }

    /// The first record at or after `offset`; `None` at the end of the partition.
    pub fn record_at(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
    ) -> Result<Option<Inspected>, InspectError> {
        let (mut records, _) = self.read(topic, partition, offset, 1)?;
        Ok(records.pop())
    }

    /// At most `max` records from `start`, and the offset reading reached: the end of the
    /// partition when fewer than `max` came. `max` = 0 reads to the end, keeping nothing.
    pub fn read(
        &self,
        topic: &str,
        partition: i32,
        start: i64,
        max: usize,
    ) -> Result<(Vec<Inspected>, i64), InspectError> {
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, partition, Offset::Offset(start))?;
        self.consumer.assign(&tpl)?;
        let mut records = Vec::new();
        let mut reached = start;
        let mut last_progress = Instant::now();
        let mut last_error = None;
        loop {
            match self.consumer.poll(Duration::from_millis(100)) {
                // Out of range (beyond the end, or aged out): librdkafka starts again from the
                // beginning, whose records are not the ones asked for.
                Some(Ok(message)) if message.offset() < start => {
                    last_progress = Instant::now();
                }
                Some(Ok(message)) => {
                    reached = message.offset() + 1;
                    last_progress = Instant::now();
                    if max > 0 {
                        records.push(inspected(&message));
                        if records.len() >= max {
                            break;
                        }
                    }
                }
                Some(Err(KafkaError::PartitionEOF(_))) => {
                    reached = reached.max(self.position(topic, partition)?);
                    break;
                }
                // librdkafka reports what it retries by itself (a broker restarting) as errors too.
                Some(Err(e)) => last_error = Some(e.to_string()),
                None => {}
            }
            if last_progress.elapsed() > PATIENCE {
                return Err(InspectError::Stalled {
                    topic: topic.to_owned(),
                    partition,
                    waited_s: PATIENCE.as_secs(),
                    last_error,
                });
            }
        }
        self.consumer.unassign()?;
        Ok((records, reached))
    }

    fn position(&self, topic: &str, partition: i32) -> Result<i64, KafkaError> {
        Ok(self
            .consumer
            .position()?
            .find_partition(topic, partition)
            .and_then(|e| e.offset().to_raw())
            .unwrap_or(-1))
    }
}

fn inspected(message: &rdkafka::message::BorrowedMessage<'_>) -> Inspected {
    Inspected {
        offset: message.offset(),
        timestamp_ms: message.timestamp().to_millis(),
        key: message.key().map(<[u8]>::to_vec),
        value: message.payload().map(<[u8]>::to_vec),
        headers: message.headers().map_or_else(Vec::new, |h| {
            h.iter()
                .map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec)))
                .collect()
        }),
    }
}

/// The configs of each topic that matter to an operator ([`CONFIGS_THAT_MATTER`], those the broker
/// reports), or the broker's refusal for that topic.
pub async fn topic_configs(
    settings: &KafkaSettings,
    client_id: &str,
    topics: &[String],
) -> Result<Vec<Result<BTreeMap<String, String>, String>>, KafkaError> {
    let admin: AdminClient<DefaultClientContext> = client_config(settings, client_id).create()?;
    let specifiers: Vec<ResourceSpecifier<'_>> =
        topics.iter().map(|t| ResourceSpecifier::Topic(t)).collect();
    let options = AdminOptions::new().request_timeout(Some(REQUEST_TIMEOUT));
    let described = admin.describe_configs(&specifiers, &options).await?;
    Ok(described
        .into_iter()
        .map(|resource| {
            resource
                .map(|r| {
                    r.entries
                        .into_iter()
                        .filter(|e| CONFIGS_THAT_MATTER.contains(&e.name.as_str()))
                        .filter_map(|e| Some((e.name, e.value?)))
                        .collect()
                })
                .map_err(|code| code.to_string())
        })
        .collect())
}
