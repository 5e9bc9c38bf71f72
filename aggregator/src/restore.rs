//! Restoring the users of one partition from `user-state`, without trusting the broker to compact
//! nor its high watermark: a marker is produced to the partition and the partition is read from
//! the beginning until the marker; the last value per key wins; records written by commands at
//! or beyond the committed offset of `commands` (work of an aborted or unfinished transaction,
//! which some brokers show to read_committed consumers) are ignored — those commands will be
//! processed again, and produce the same records.
//!
//! Then the state is checked against the events it stands on: the last events of the users written
//! most recently (where a broker crash would have lost acknowledged records) must be where their
//! meta records say, with the user and sequence they say. A missing one is reported loudly; the
//! materializers hold that user at the gap until it is repaired.

use crate::store::apply_record;
use balados_domain::UserState;
use balados_platform::settings::KafkaSettings;
use balados_schemas::state::SOURCE_OFFSET_HEADER;
use balados_schemas::{Codec, Contract, EventEnvelope, StateKey, Topics, UserId, UserStateRecord};
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::message::{BorrowedMessage, Headers as _, Message as _};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Keys of restore markers; never a user id (those cannot contain '/': see `UserId`).
const MARKER_PREFIX: &str = "__restore-marker__/";
/// How many users' last events a restore checks: those written most recently, within the last
/// `CHECKED_SPAN` offsets of the events partition (a crash loses the tail; the check reads it).
const CHECKED_USERS: usize = 32;
const CHECKED_SPAN: i64 = 10_000;
/// How long the check waits for the events partition to deliver what it should hold.
const CHECK_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("Kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("undecodable state record at offset {offset}: {reason}")]
    Decode { offset: i64, reason: String },
}

#[derive(Debug, Clone, Copy, Default)]
pub struct RestoreStats {
    pub records: u64,
    pub ignored_uncommitted: u64,
    pub users: usize,
    /// Users' last events checked, and those not found where the state says.
    pub events_checked: usize,
    pub events_missing: usize,
    pub duration: Duration,
}

pub struct Restorer {
    kafka: KafkaSettings,
    topic: String,
    events_topic: String,
    codec: Codec,
    marker_producer: FutureProducer,
    runtime: tokio::runtime::Handle,
}

impl std::fmt::Debug for Restorer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Restorer")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

impl Restorer {
    pub fn new(
        kafka: &KafkaSettings,
        topics: &Topics,
        codec: Codec,
        runtime: tokio::runtime::Handle,
    ) -> Result<Self, RestoreError> {
        let config = balados_platform::kafka::producer_config(kafka, "balados-aggregator-restore");
        Ok(Self {
            kafka: kafka.clone(),
            topic: topics.user_state.clone(),
            events_topic: topics.events.clone(),
            codec,
            marker_producer: config.create()?,
            runtime,
        })
    }

    /// Users of `partition`, as of `committed` (the committed offset of `commands` there).
    pub fn restore(
        &self,
        partition: i32,
        committed: i64,
    ) -> Result<(HashMap<UserId, UserState>, RestoreStats), RestoreError> {
        let started = Instant::now();
        let marker_key = format!("{MARKER_PREFIX}{}", uuid::Uuid::new_v4());
        // A tombstone: compaction removes markers, so they cost nothing in the long run.
        let record = FutureRecord::<str, [u8]>::to(&self.topic)
            .partition(partition)
            .key(&marker_key);
        let delivery = self
            .runtime
            .block_on(self.marker_producer.send(record, Duration::from_secs(30)));
        let marker_offset = delivery.map_err(|(e, _)| e)?.offset;

        let consumer = self.reader()?;
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(&self.topic, partition, Offset::Beginning)?;
        consumer.assign(&tpl)?;

        let mut users = HashMap::new();
        let mut stats = RestoreStats::default();
        let mut last_report = Instant::now();
        loop {
            let Some(message) = consumer.poll(Duration::from_millis(200)) else {
                if last_report.elapsed() > Duration::from_secs(10) {
                    tracing::warn!(
                        kafka.partition = partition,
                        marker.offset = marker_offset,
                        "restore still waiting for its marker"
                    );
                    last_report = Instant::now();
                }
                continue;
            };
            let message = message?;
            let offset = message.offset();
            if let Some(key) = message.key().and_then(|k| std::str::from_utf8(k).ok())
                && let Some(key) = StateKey::decode(key)
            {
                stats.records += 1;
                let (source_offset, entity) = match message.payload() {
                    None => (tombstone_source_offset(&message), None),
                    Some(bytes) => {
                        let record = self
                            .decode(bytes)
                            .map_err(|reason| RestoreError::Decode { offset, reason })?;
                        (Some(record.source_offset), Some(record.entity))
                    }
                };
                if source_offset.is_some_and(|s| s >= committed) {
                    stats.ignored_uncommitted += 1;
                } else {
                    apply_record(&mut users, key, entity);
                }
            }
            if offset >= marker_offset {
                break;
            }
        }
        stats.users = users.len();
        (stats.events_checked, stats.events_missing) = self.check_events(partition, &users)?;
        stats.duration = started.elapsed();
        Ok((users, stats))
    }

    /// Checks that the last events of the most recently written users are in `events` where their
    /// meta records say; returns (checked, missing).
    fn check_events(
        &self,
        partition: i32,
        users: &HashMap<UserId, UserState>,
    ) -> Result<(usize, usize), RestoreError> {
        let mut expected: Vec<(i64, &UserId, u64)> = users
            .iter()
            .filter_map(|(user, state)| Some((state.events_offset?, user, state.sequence)))
            .collect();
        expected.sort_unstable_by_key(|e| std::cmp::Reverse(e.0));
        expected.truncate(CHECKED_USERS);
        if let Some(newest) = expected.first().map(|e| e.0) {
            expected.retain(|e| e.0 > newest - CHECKED_SPAN);
        }
        let Some(first) = expected.iter().map(|e| e.0).min() else {
            return Ok((0, 0));
        };
        let last = expected[0].0;
        let mut wanted: HashMap<i64, (&UserId, u64)> =
            expected.iter().map(|(o, u, s)| (*o, (*u, *s))).collect();
        let checked = wanted.len();
        let consumer = self.reader()?;
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(&self.events_topic, partition, Offset::Offset(first))?;
        consumer.assign(&tpl)?;
        let mut missing = 0;
        let deadline = Instant::now() + CHECK_TIMEOUT;
        while !wanted.is_empty() && Instant::now() < deadline {
            let Some(message) = consumer.poll(Duration::from_millis(200)) else {
                continue;
            };
            let message = message?;
            let offset = message.offset();
            if let Some((user, sequence)) = wanted.remove(&offset) {
                let found = message.payload().and_then(|bytes| self.decode_event(bytes));
                if found.as_ref().map(|e| (&e.user_id, e.sequence)) != Some((user, sequence)) {
                    missing += 1;
                    report_missing(partition, offset, user, sequence, found.as_ref());
                }
            }
            // Offsets the broker skipped are gone too.
            let skipped: Vec<i64> = wanted.keys().copied().filter(|o| *o < offset).collect();
            for o in skipped {
                if let Some((user, sequence)) = wanted.remove(&o) {
                    missing += 1;
                    report_missing(partition, o, user, sequence, None);
                }
            }
            if offset >= last {
                break;
            }
        }
        for (offset, (user, sequence)) in wanted {
            missing += 1;
            report_missing(partition, offset, user, sequence, None);
        }
        Ok((checked, missing))
    }

    /// A plain reader of this instance's settings (no group membership: partitions are assigned).
    fn reader(&self) -> Result<BaseConsumer, RestoreError> {
        let mut config =
            balados_platform::kafka::client_config(&self.kafka, "balados-aggregator-restore");
        config
            .set("group.id", format!("{}-restore", self.topic))
            .set("enable.auto.commit", "false")
            .set(
                "fetch.wait.max.ms",
                self.kafka.fetch_wait_max_ms.to_string(),
            )
            .set(
                "isolation.level",
                balados_platform::kafka::isolation_level(&self.kafka),
            );
        Ok(config.create()?)
    }

    fn decode_event(&self, bytes: &[u8]) -> Option<EventEnvelope> {
        let value = match self.codec.decode_cached(Contract::Event, bytes) {
            Err(balados_schemas::CodecError::UnknownSchema(_)) => self
                .runtime
                .block_on(self.codec.decode(Contract::Event, bytes))
                .ok()?,
            other => other.ok()?,
        };
        EventEnvelope::from_avro(value).ok()
    }

    fn decode(&self, bytes: &[u8]) -> Result<UserStateRecord, String> {
        let value = match self.codec.decode_cached(Contract::UserState, bytes) {
            Err(balados_schemas::CodecError::UnknownSchema(_)) => self
                .runtime
                .block_on(self.codec.decode(Contract::UserState, bytes))
                .map_err(|e| e.to_string())?,
            other => other.map_err(|e| e.to_string())?,
        };
        UserStateRecord::from_avro(value).map_err(|e| e.to_string())
    }
}

fn report_missing(
    partition: i32,
    offset: i64,
    user: &UserId,
    sequence: u64,
    found: Option<&EventEnvelope>,
) {
    tracing::error!(
        kafka.partition = partition,
        kafka.offset = offset,
        user.id = %user,
        sequence,
        found.user = found.map(|e| e.user_id.as_str()),
        found.sequence = found.map(|e| e.sequence),
        "restore: an event the state stands on is not in the events topic (lost by the broker?); \
         readers will hold this user at the gap until `balados admin repair-user`"
    );
}

/// The source offset a tombstone carries in its header; `None` when it has none (written by
/// an older version, or by compaction tooling): such a tombstone is applied.
fn tombstone_source_offset(message: &BorrowedMessage<'_>) -> Option<i64> {
    message
        .headers()?
        .iter()
        .find(|h| h.key == SOURCE_OFFSET_HEADER)
        .and_then(|h| std::str::from_utf8(h.value?).ok()?.parse().ok())
}
