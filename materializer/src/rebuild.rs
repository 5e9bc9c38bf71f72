//! Rebuilding the read models from the log (`balados admin rebuild`): the per-user models from the
//! latest state records on `user-state` (which outlive the events' 45-day retention), the public
//! models by replaying the retained events with the privacy settings as they were at each event.
//! Everything is written in one PostgreSQL transaction: a failed rebuild changes nothing, and reads
//! of the models wait while it runs (its TRUNCATE locks them; they answer 503 past their
//! statement timeout); the materializers resume after it from the offsets it stored. A registry
//! that does not answer for a minute abandons it rather than holding the locks.
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
use balados_platform::kafka::committed::{group_committed_offsets, written_by_uncommitted_work};
use balados_platform::kafka::reader::{Markers, PartitionReader};
use balados_schemas::{Codec, Contract, StateEntity, StateKey, UserStateRecord};
use chrono::TimeDelta;
use sqlx::PgPool;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

mod replay;
#[cfg(test)]
mod tests;

/// Events applied per statement batch during the replay.
const CHUNK: usize = 5000;
/// How long reading may make no progress before the rebuild gives up (an open transaction?).
const PATIENCE: Duration = Duration::from_secs(120);
const CLIENT_ID: &str = "balados-rebuild";

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
    let partitions = reader.partitions.partitions(&topics.events)?;

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
        let mut cursor = reader
            .partitions
            .to_high_watermark(&topics.events, partition)?;
        loop {
            let records = reader
                .partitions
                .next_or_stall(&mut cursor, CHUNK, PATIENCE)?;
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
        reached.insert(partition, cursor.end());
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
    let partitions: Vec<i32> = (0..reader.partitions.partitions(topic)?).collect();
    let committed = group_committed_offsets(
        &settings.kafka,
        CLIENT_ID,
        &format!("{}.aggregator", settings.kafka.topic_prefix),
        &topics.commands,
        &partitions,
    )?;
    let mut latest = HashMap::new();
    for partition in partitions {
        let end = reader.markers.place(topic, partition).await?;
        let mut cursor = reader.partitions.from_beginning(topic, partition, end)?;
        loop {
            let records = reader
                .partitions
                .next_or_stall(&mut cursor, CHUNK, PATIENCE)?;
            if records.is_empty() {
                break;
            }
            for message in records {
                let Some(key) = message.key_str().and_then(StateKey::decode) else {
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
                if written_by_uncommitted_work(source_offset, committed[&partition]) {
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
        StateEntity::Meta {
            sequence,
            sync_position,
            deleted,
            ..
        } => {
            // As after the live deletion, a deleted user has no row, positions included (their
            // other records are tombstones; their retained events replay into nothing, the
            // deletion among them).
            if deleted {
                return;
            }
            changes.positions.insert(
                user,
                Positions {
                    per_user: sequence,
                    public: 0,
                    sync: sync_position,
                },
            );
        }
        StateEntity::Subscription {
            feed,
            source_id,
            subscribed_at,
            unsubscribed_at,
            sync_position,
        } => {
            per_user.subscriptions.insert(
                (user, feed.id()),
                SubscriptionPatch {
                    feed_url: feed.as_str().to_owned(),
                    source_id: Some(source_id),
                    subscribed_at,
                    unsubscribed_at,
                    sync_position,
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
            sync_position,
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
                    sync_position,
                },
            );
        }
        StateEntity::Playlist {
            playlist_id,
            name,
            description,
            public,
            items,
            deleted_at,
            ..
        } => {
            // A deleted playlist the aggregate keeps for the merge of a bulk sync has no row.
            if deleted_at.is_some() {
                return;
            }
            let items = items
                .iter()
                .map(|i| ListItem::new(&i.feed, &i.item))
                .collect();
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

/// What the rebuild and the repair read with: whole partitions, and the markers that say where a
/// partition of `user-state` ends (see `balados_platform::kafka::reader`).
pub(crate) struct Reader {
    partitions: PartitionReader,
    markers: Markers,
}

impl Reader {
    pub(crate) fn new(settings: &Settings) -> Result<Self, rdkafka::error::KafkaError> {
        let group = format!("{}.rebuild", settings.kafka.topic_prefix);
        Ok(Self {
            partitions: PartitionReader::new(&settings.kafka, CLIENT_ID, &group)?,
            markers: Markers::new(&settings.kafka, CLIENT_ID, "rebuild")?,
        })
    }
}
