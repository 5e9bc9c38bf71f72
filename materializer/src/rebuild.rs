//! Rebuilding the read models from the log (`balados admin rebuild`): the per-user models from the
//! latest state records on `user-state` (which outlive the events' 45-day retention), the public
//! models by replaying the retained events with the privacy settings as they were at each event.
//! Everything is written in one PostgreSQL transaction, so readers see the old models until the
//! new ones are complete; the materializers resume after it from the offsets it stored.
//!
//! Run it with the materializers stopped. Writes that land meanwhile are not lost: the per-user
//! models take them from the state records or from the events after them (per-user positions are
//! the records' sequences), the public ones from the events (their positions start at zero).

use crate::apply::lists::{CollectionRow, ListItem, PlaylistRow};
use crate::apply::per_user::{EpisodePatch, PerUserChanges, SubscriptionPatch, scope_columns};
use crate::apply::privacy::PrivacySettings;
use crate::apply::{BatchChanges, Positions};
use crate::sink;
use balados_platform::Settings;
use balados_platform::settings::KafkaSettings;
use balados_schemas::state::SOURCE_OFFSET_HEADER;
use balados_schemas::{Codec, Contract, StateEntity, StateKey, UserStateRecord};
use chrono::TimeDelta;
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::message::{Headers as _, Message as _};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use sqlx::PgPool;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

mod replay;

/// Events applied per statement batch during the replay.
const CHUNK: usize = 5000;

#[derive(Debug, Default)]
pub struct Report {
    pub state_records: u64,
    pub ignored_uncommitted: u64,
    pub users: usize,
    pub events: u64,
    pub public_events: u64,
    /// Events set aside in `materializer.quarantine` (undecodable, or refused by PostgreSQL).
    pub quarantined: u64,
    pub duration: Duration,
}

/// The read models every rebuild recreates; `command_outcomes` (from `command-results`, kept an
/// hour) and the outbox of `public-events` (still to be relayed) are left as they are.
const TABLES: &str = "users.public_event_refs, site.public_events, site.podcast_popularity,
    site.episode_popularity, site.podcast_popularity_hourly, site.episode_popularity_hourly,
    site.popularity_counted,
    materializer.user_sequences";

/// The per-user models, which the state records alone rebuild (`repair-user` rewrites one
/// user's rows of them).
pub(crate) const PER_USER_TABLES: [&str; 8] = [
    "users.subscriptions",
    "users.play_statuses",
    "users.user_privacy",
    "users.devices",
    "users.playlists",
    "users.playlist_items",
    "users.collections",
    "users.collection_feeds",
];

pub async fn rebuild(settings: &Settings, pool: &PgPool, codec: &Codec) -> anyhow::Result<Report> {
    let started = Instant::now();
    let topics = settings.topics();
    let group = crate::runner::group(settings);
    let grace = TimeDelta::hours(i64::from(settings.materializer.popularity_grace_hours));
    let reader = Reader::new(settings)?;
    let mut report = Report::default();

    // 1. The latest state record per key.
    let latest = latest_records(&reader, settings, codec, None, &mut report).await?;
    let partitions = reader.partitions(&topics.events)?;

    let mut tx = pool.begin().await?;
    let per_user = PER_USER_TABLES.join(", ");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "TRUNCATE {per_user}, {TABLES}"
    )))
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM materializer.offsets WHERE consumer = $1 AND topic = $2")
        .bind(&group)
        .bind(&topics.events)
        .execute(&mut *tx)
        .await?;

    // 2. The per-user models, from the records.
    let snapshot = from_records(latest.into_values());
    report.users = snapshot.positions.len();
    sink::per_user::write(&mut tx, &snapshot.per_user).await?;
    sink::lists::write(&mut tx, &snapshot.lists).await?;
    sink::upsert_positions(&mut tx, &snapshot).await?;

    // 3. The public models, from the events, with the settings they were decided under.
    let mut carried: HashMap<String, PrivacySettings> = HashMap::new();
    let mut reached = BTreeMap::new();
    for partition in 0..partitions {
        let mut cursor = reader.start(&topics.events, partition)?;
        loop {
            let records = reader.next(&mut cursor, CHUNK)?;
            if records.is_empty() {
                break;
            }
            let chunk: Vec<replay::EventRecord<'_>> = records
                .iter()
                .map(|r| replay::EventRecord {
                    offset: r.offset,
                    value: r.value.as_deref(),
                })
                .collect();
            let source = replay::Source {
                codec,
                topic: &topics.events,
                partition,
                grace,
            };
            let replayed = replay::replay(&mut tx, &source, &chunk, &mut carried).await?;
            report.public_events += replayed.public_events;
            report.events += replayed.events;
            report.quarantined += replayed.quarantined;
        }
        reached.insert(partition, cursor.high);
    }
    sink::upsert_offsets(&mut tx, &group, &topics.events, &reached).await?;
    tx.commit().await?;
    report.duration = started.elapsed();
    Ok(report)
}

/// The latest state record per key (of `user` only, when given), from every partition of
/// `user-state`; records of uncommitted commands (at or beyond the aggregator's committed offset
/// in their partition) are ignored, as the aggregator's restore does.
pub(crate) async fn latest_records(
    reader: &Reader,
    settings: &Settings,
    codec: &Codec,
    user: Option<&str>,
    report: &mut Report,
) -> anyhow::Result<HashMap<String, (StateKey, Option<StateEntity>)>> {
    let topics = settings.topics();
    let topic = &topics.user_state;
    let partitions = reader.partitions(topic)?;
    let committed = reader.committed(
        &format!("{}.aggregator", settings.kafka.topic_prefix),
        &topics.commands,
        partitions,
    )?;
    let mut latest = HashMap::new();
    for partition in 0..partitions {
        let mut cursor = reader.start_to_marker(topic, partition).await?;
        loop {
            let records = reader.next(&mut cursor, CHUNK)?;
            if records.is_empty() {
                break;
            }
            for message in records {
                let Some(key) = message.key.as_deref().and_then(StateKey::decode) else {
                    continue; // restore markers and foreign records
                };
                if user.is_some_and(|u| key.user_id().as_str() != u) {
                    continue;
                }
                report.state_records += 1;
                let (source_offset, entity) = match &message.value {
                    None => (message.source_offset, None),
                    Some(bytes) => {
                        let value = codec.decode(Contract::UserState, bytes).await?;
                        let record = UserStateRecord::from_avro(value)?;
                        (Some(record.source_offset), Some(record.entity))
                    }
                };
                if source_offset.is_some_and(|s| s >= committed[&partition]) {
                    report.ignored_uncommitted += 1;
                    continue;
                }
                latest.insert(key.encode(), (key, entity));
            }
        }
    }
    Ok(latest)
}

/// The per-user rows of the latest state records, as one batch's changes.
pub(crate) fn from_records(
    records: impl Iterator<Item = (StateKey, Option<StateEntity>)>,
) -> BatchChanges {
    let mut changes = BatchChanges::default();
    for (key, entity) in records {
        let user = key.user_id().as_str().to_owned();
        let Some(entity) = entity else { continue };
        apply_entity(&mut changes, user, entity);
    }
    changes
}

fn apply_entity(changes: &mut BatchChanges, user: String, entity: StateEntity) {
    let per_user: &mut PerUserChanges = &mut changes.per_user;
    match entity {
        StateEntity::Meta { sequence, .. } => {
            changes.positions.insert(
                user,
                Positions {
                    per_user: sequence,
                    public: 0,
                },
            );
        }
        StateEntity::Subscription {
            feed,
            source_id,
            subscribed_at,
            unsubscribed_at,
        } => {
            per_user.subscriptions.insert(
                (user, feed.id()),
                SubscriptionPatch {
                    feed_url: feed.as_str().to_owned(),
                    source_id: Some(source_id),
                    subscribed_at,
                    unsubscribed_at,
                },
            );
        }
        StateEntity::Episode {
            feed,
            item,
            updated_at,
            position,
            duration,
            played,
            saved_at,
        } => {
            per_user.episodes.insert(
                (user, item.id()),
                EpisodePatch {
                    feed,
                    item,
                    position: Some(position),
                    duration: Some(duration),
                    played: Some(played),
                    updated_at,
                    saved_at: Some(saved_at),
                },
            );
        }
        StateEntity::Playlist {
            playlist_id,
            name,
            description,
            public,
            items,
        } => {
            let items = items.iter().map(|(f, i)| ListItem::new(f, i)).collect();
            let row = PlaylistRow {
                name,
                description,
                public,
                items,
            };
            changes
                .lists
                .playlists
                .insert((user, playlist_id), Some(row));
        }
        StateEntity::Collection {
            collection_id,
            title,
            is_default,
            public,
            feeds,
        } => {
            let feeds = feeds
                .iter()
                .map(|f| (f.id(), f.as_str().to_owned()))
                .collect();
            let row = CollectionRow {
                title,
                is_default,
                public,
                feeds,
            };
            changes
                .lists
                .collections
                .insert((user, collection_id), Some(row));
        }
        StateEntity::Privacy { scope, privacy } => {
            let (kind, id) = scope_columns(&scope);
            per_user.privacy.insert((user, kind, id), privacy);
        }
        StateEntity::Device {
            device_id,
            caption,
            kind,
        } => {
            per_user.devices.insert((user, device_id), (caption, kind));
        }
    }
}

/// One record read for the rebuild.
struct Record {
    offset: i64,
    key: Option<String>,
    value: Option<Vec<u8>>,
    /// The source offset a tombstone carries in its header.
    source_offset: Option<i64>,
}

/// Reads whole partitions, in chunks, up to their high watermark at the time reading started.
pub(crate) struct Reader {
    kafka: KafkaSettings,
    consumer: BaseConsumer,
    /// Produces the markers that say where a partition ends (one producer for every partition).
    markers: FutureProducer,
}

/// A partition being read: where it ends.
struct Cursor<'a> {
    topic: &'a str,
    partition: i32,
    high: i64,
    done: bool,
}

impl Reader {
    pub(crate) fn new(settings: &Settings) -> Result<Self, rdkafka::error::KafkaError> {
        let consumer = balados_platform::kafka::client_config(&settings.kafka, "balados-rebuild")
            .set(
                "group.id",
                format!("{}.rebuild", settings.kafka.topic_prefix),
            )
            .set("enable.auto.commit", "false")
            .set(
                "isolation.level",
                balados_platform::kafka::isolation_level(&settings.kafka),
            )
            .set(
                "fetch.wait.max.ms",
                settings.kafka.fetch_wait_max_ms.to_string(),
            )
            .create()?;
        Ok(Self {
            kafka: settings.kafka.clone(),
            consumer,
            markers: balados_platform::kafka::producer_config(&settings.kafka, "balados-rebuild")
                .create()?,
        })
    }

    fn partitions(&self, topic: &str) -> anyhow::Result<i32> {
        let metadata = self
            .consumer
            .fetch_metadata(Some(topic), Duration::from_secs(10))?;
        let count = metadata
            .topics()
            .first()
            .map_or(0, |t| t.partitions().len());
        anyhow::ensure!(
            count > 0,
            "topic {topic} has no partitions (does it exist?)"
        );
        Ok(i32::try_from(count)?)
    }

    /// The committed offsets of `group` on `topic` (0 where none).
    fn committed(
        &self,
        group: &str,
        topic: &str,
        partitions: i32,
    ) -> anyhow::Result<HashMap<i32, i64>> {
        let consumer: BaseConsumer =
            balados_platform::kafka::client_config(&self.kafka, "balados-rebuild")
                .set("group.id", group)
                .set("enable.auto.commit", "false")
                .create()?;
        let mut tpl = TopicPartitionList::new();
        for partition in 0..partitions {
            tpl.add_partition(topic, partition);
        }
        let committed = consumer.committed_offsets(tpl, Duration::from_secs(10))?;
        Ok((0..partitions)
            .map(|p| {
                let offset = committed
                    .find_partition(topic, p)
                    .and_then(|e| e.offset().to_raw())
                    .filter(|o| *o >= 0)
                    .unwrap_or(0);
                (p, offset)
            })
            .collect())
    }

    /// Reads `partition` of `user-state` to a marker produced now: its high watermark cannot be
    /// trusted on every broker (tansu answers the start of its last batch + 1). The marker is a
    /// tombstone under a key no user id can take (user ids have no '/'), which restores and
    /// rebuilds skip.
    async fn start_to_marker<'a>(
        &self,
        topic: &'a str,
        partition: i32,
    ) -> anyhow::Result<Cursor<'a>> {
        let key = format!("__rebuild-marker__/{}", uuid::Uuid::new_v4());
        let record = FutureRecord::<str, [u8]>::to(topic)
            .partition(partition)
            .key(&key);
        let marker = self
            .markers
            .send(record, Duration::from_secs(30))
            .await
            .map_err(|(e, _)| e)?
            .offset;
        self.read_from_beginning(topic, partition, marker + 1)
    }

    fn start<'a>(&self, topic: &'a str, partition: i32) -> anyhow::Result<Cursor<'a>> {
        let (low, high) =
            self.consumer
                .fetch_watermarks(topic, partition, Duration::from_secs(10))?;
        let mut cursor = self.read_from_beginning(topic, partition, high)?;
        cursor.done = high <= low;
        Ok(cursor)
    }

    /// Reads `partition` from its beginning up to `high`.
    fn read_from_beginning<'a>(
        &self,
        topic: &'a str,
        partition: i32,
        high: i64,
    ) -> anyhow::Result<Cursor<'a>> {
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, partition, Offset::Beginning)?;
        self.consumer.assign(&tpl)?;
        Ok(Cursor {
            topic,
            partition,
            high,
            done: false,
        })
    }

    /// The next records (at most `max`); empty once the partition is read to its end.
    fn next(&self, cursor: &mut Cursor<'_>, max: usize) -> anyhow::Result<Vec<Record>> {
        let mut records = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(120);
        while !cursor.done && records.len() < max {
            anyhow::ensure!(
                Instant::now() < deadline,
                "{}[{}]: no progress toward offset {} in 120 s (an open transaction?)",
                cursor.topic,
                cursor.partition,
                cursor.high
            );
            if let Some(message) = self.consumer.poll(Duration::from_millis(100)) {
                let message = message?;
                let source_offset = message.headers().and_then(|h| {
                    h.iter()
                        .find(|h| h.key == SOURCE_OFFSET_HEADER)
                        .and_then(|h| std::str::from_utf8(h.value?).ok()?.parse().ok())
                });
                records.push(Record {
                    offset: message.offset(),
                    key: message
                        .key()
                        .and_then(|k| std::str::from_utf8(k).ok())
                        .map(str::to_owned),
                    value: message.payload().map(<[u8]>::to_vec),
                    source_offset,
                });
            }
            // The position, not the last record, says where reading is: transaction markers take
            // offsets that are never delivered.
            let position = self
                .consumer
                .position()?
                .find_partition(cursor.topic, cursor.partition)
                .and_then(|e| e.offset().to_raw())
                .unwrap_or(-1);
            let last = records.last().map_or(-1, |r| r.offset);
            cursor.done = position >= cursor.high || last + 1 >= cursor.high;
        }
        Ok(records)
    }
}
