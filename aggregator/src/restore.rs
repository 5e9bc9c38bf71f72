//! Restoring the users of one partition from `user-state`, without trusting the broker to compact
//! nor its high watermark: a marker is produced to the partition and the partition is read from
//! the beginning until the marker; the last value per key wins; records written by commands at
//! or beyond the committed offset of `commands` (work of an aborted or unfinished transaction)
//! are ignored — those commands will be processed again, and produce the same records. The
//! reading, the marker and that rule are `balados_platform::kafka::reader`'s, shared with the
//! materializer's rebuild.
//!
//! The partition is read uncommitted: that rule tells unfinished work apart, so the restore does
//! not depend on the broker's last stable offset (which a transaction left open holds back until
//! it times out). The records of an aborted batch below the committed offset were decided again,
//! identically, by its replay, whose records come later and win. (A restore once waited at its
//! marker for minutes on tansu during a rolling restart: most likely a last stable offset that
//! tansu holds for good when two transactional instances write the same partitions, see
//! docs/broker-compatibility.md.)
//!
//! Then the state is checked against the events it stands on: the last events of the users written
//! most recently (where a broker crash would have lost acknowledged records) must be where their
//! meta records say, with the user and sequence they say. A missing one is reported loudly; the
//! materializers hold that user at the gap until it is repaired.

use crate::partitions::StateStore;
use crate::store::apply_record;
use balados_domain::UserState;
use balados_platform::kafka::committed::written_by_uncommitted_work;
use balados_platform::kafka::reader::{Markers, PartitionReader, Record};
use balados_platform::metrics::{Counter, Metrics, SLOW_BUCKETS};
use balados_platform::settings::KafkaSettings;
use balados_schemas::{Codec, Contract, EventEnvelope, StateKey, Topics, UserId, UserStateRecord};
use std::collections::HashMap;
use std::time::{Duration, Instant};

const CLIENT_ID: &str = "balados-aggregator-restore";
/// Records read at a time.
const CHUNK: usize = 1000;
/// How long a restore waits for records before saying it still waits for its marker.
const STILL_WAITING: Duration = Duration::from_secs(10);
/// How many users' last events a restore checks: those written most recently, within the last
/// `CHECKED_SPAN` offsets of the events partition (a crash loses the tail; the check reads it).
const CHECKED_USERS: usize = 32;
const CHECKED_SPAN: i64 = 10_000;
/// How long the check waits for the events partition to deliver what it should hold.
const CHECK_TIMEOUT: Duration = Duration::from_secs(15);

pub(crate) const MISSING_EVENTS: Counter = Counter {
    name: "balados_aggregator_missing_events_total",
    help: "Events that restored state stands on but the events topic does not hold (lost by the broker).",
};

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
    /// Records whose value cannot be read (malformed, or a bound this version refuses): skipped,
    /// so that one record cannot stop the partition's every user.
    pub undecodable: u64,
    pub users: usize,
    /// Users' last events checked, and those not found where the state says.
    pub events_checked: usize,
    pub events_missing: usize,
    pub duration: Duration,
}

/// Why a state record could not be read: the registry's outage (retry) or the record itself.
enum Undecodable {
    Outage(String),
    Malformed(String),
}

pub struct Restorer {
    kafka: KafkaSettings,
    topic: String,
    events_topic: String,
    codec: Codec,
    markers: Markers,
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
        Ok(Self {
            kafka: kafka.clone(),
            topic: topics.user_state.clone(),
            events_topic: topics.events.clone(),
            codec,
            markers: Markers::new(kafka, CLIENT_ID, "restore")?,
            runtime,
        })
    }

    /// Restores `partition` as of `committed` into `store`, and says so (log and metrics).
    pub fn restore_into(
        &self,
        store: &mut StateStore,
        metrics: &Metrics,
        partition: i32,
        committed: i64,
    ) -> Result<(), RestoreError> {
        let (users, stats) = self.restore(partition, committed)?;
        tracing::info!(
            kafka.partition = partition,
            restore.users = stats.users,
            restore.records = stats.records,
            restore.ignored_uncommitted = stats.ignored_uncommitted,
            restore.undecodable = stats.undecodable,
            restore.events_checked = stats.events_checked,
            restore.events_missing = stats.events_missing,
            duration_ms = stats.duration.as_millis() as u64,
            "partition state restored"
        );
        metrics.add(
            "balados_aggregator_restores_total",
            "Partition restores.",
            &[],
            1.0,
        );
        metrics.add(
            "balados_aggregator_undecodable_state_total",
            "State records skipped at a restore because their value cannot be read.",
            &[],
            stats.undecodable as f64,
        );
        metrics.count(MISSING_EVENTS, &[], stats.events_missing as f64);
        metrics.observe(
            "balados_aggregator_restore_duration_seconds",
            "Time a partition's restore took: reading user-state to its marker, then checking the last events.",
            SLOW_BUCKETS,
            &[],
            stats.duration.as_secs_f64(),
        );
        store.load(partition, users, committed);
        Ok(())
    }

    /// Users of `partition`, as of `committed` (the committed offset of `commands` there).
    pub fn restore(
        &self,
        partition: i32,
        committed: i64,
    ) -> Result<(HashMap<UserId, UserState>, RestoreStats), RestoreError> {
        let started = Instant::now();
        let end = self
            .runtime
            .block_on(self.markers.place(&self.topic, partition))?;
        let reader = self.reader()?;
        let mut cursor = reader.from_beginning(&self.topic, partition, end)?;
        let mut users = HashMap::new();
        let mut stats = RestoreStats::default();
        while !cursor.done() {
            let records = reader.next(&mut cursor, CHUNK, STILL_WAITING)?;
            if records.is_empty() && !cursor.done() {
                tracing::warn!(
                    kafka.partition = partition,
                    marker.offset = end - 1,
                    "restore still waiting for its marker"
                );
            }
            for record in records {
                self.apply(record, committed, &mut users, &mut stats)?;
            }
        }
        // A user deleted by an earlier version left only tombstones: absent, not an empty state
        // (one deleted since has a meta record marked deleted, and is restored as deleted).
        crate::deletion::drop_deleted(&mut users);
        stats.users = users.len();
        (stats.events_checked, stats.events_missing) = self.check_events(partition, &users)?;
        stats.duration = started.elapsed();
        Ok((users, stats))
    }

    /// Applies one record of `user-state` (restore markers and foreign records are skipped),
    /// unless it comes from uncommitted work.
    fn apply(
        &self,
        record: Record,
        committed: i64,
        users: &mut HashMap<UserId, UserState>,
        stats: &mut RestoreStats,
    ) -> Result<(), RestoreError> {
        let Some(key) = record.key_str().and_then(StateKey::decode) else {
            return Ok(());
        };
        stats.records += 1;
        let (source_offset, entity) = match &record.value {
            None => (record.source_offset, None),
            Some(bytes) => match self.decode(bytes) {
                Ok(decoded) => (Some(decoded.source_offset), Some(decoded.entity)),
                // The registry is down: fail the restore, which is retried; nothing is skipped.
                Err(Undecodable::Outage(reason)) => {
                    return Err(RestoreError::Decode {
                        offset: record.offset,
                        reason,
                    });
                }
                Err(Undecodable::Malformed(reason)) => {
                    stats.undecodable += 1;
                    tracing::error!(
                        kafka.offset = record.offset,
                        error = %reason,
                        "a state record cannot be read; skipped (its entity restores as absent)"
                    );
                    return Ok(());
                }
            },
        };
        if written_by_uncommitted_work(source_offset, committed) {
            stats.ignored_uncommitted += 1;
        } else {
            apply_record(users, key, entity);
        }
        Ok(())
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
        let reader = self.reader()?;
        let mut cursor = reader.from_offset(&self.events_topic, partition, first, last + 1)?;
        let mut missing = 0;
        let deadline = Instant::now() + CHECK_TIMEOUT;
        while !wanted.is_empty() && !cursor.done() {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                break;
            }
            for record in reader.next(&mut cursor, CHUNK, remaining)? {
                let offset = record.offset;
                if let Some((user, sequence)) = wanted.remove(&offset) {
                    let found = record.value.as_deref().and_then(|b| self.decode_event(b));
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
            }
        }
        for (offset, (user, sequence)) in wanted {
            missing += 1;
            report_missing(partition, offset, user, sequence, None);
        }
        Ok((checked, missing))
    }

    /// A plain reader of this instance's settings (no group membership: partitions are assigned).
    fn reader(&self) -> Result<PartitionReader, RestoreError> {
        let group = format!("{}-restore", self.topic);
        Ok(PartitionReader::including_uncommitted(
            &self.kafka,
            CLIENT_ID,
            &group,
        )?)
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

    fn decode(&self, bytes: &[u8]) -> Result<UserStateRecord, Undecodable> {
        let value = match self.codec.decode_cached(Contract::UserState, bytes) {
            Err(balados_schemas::CodecError::UnknownSchema(_)) => self
                .runtime
                .block_on(self.codec.decode(Contract::UserState, bytes)),
            other => other,
        };
        let value = value.map_err(|e| match &e {
            balados_schemas::CodecError::Registry(r) if r.is_transient() => {
                Undecodable::Outage(e.to_string())
            }
            _ => Undecodable::Malformed(e.to_string()),
        })?;
        UserStateRecord::from_avro(value).map_err(|e| Undecodable::Malformed(e.to_string()))
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
