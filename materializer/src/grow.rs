//! Growing the co-partitioned topics (`balados admin partitions grow`): a user's commands, events
//! and state records live in the partition of the same number, chosen by their user id modulo the
//! partition count, so adding partitions moves users. The service's topics cannot be grown in
//! place — the state would stay behind, and some brokers (tansu) cannot add partitions at all — so
//! the growth copies them to the topics of a successor prefix with more partitions:
//!
//! 1. the successor's topics are created, and the current prefix is retired
//!    (`materializer.retired_topics`): every instance refuses writes within a second (503 with
//!    Retry-After; reads go on; one that cannot read PostgreSQL refuses them anyway), and the
//!    growth waits out the bounds of `balados_platform::retirement`, so that no write is still
//!    on its way; where `commands` ends then is what nothing may pass;
//! 2. it waits until the aggregators have decided every command, the materializers applied
//!    every event and stored every outcome, and the relay published every public event;
//! 3. it copies each user's events, in order, to their new partition, then their latest state
//!    records (their meta record pointing at their last event's new offset, their source offsets
//!    reset: no command of the new topics wrote them), the public events and the dead letters;
//! 4. it stores the materializers' offsets on the new events at their ends (every copied event is
//!    applied already), checks that nothing reached the old commands past where they ended, and
//!    marks the growth complete (the old instances' relays stop then).
//!
//! The instances are then restarted with the successor's prefix and partition count: each takes
//! writes again as it comes back. The pause is the settling wait, the drain and the copy.

use crate::rebuild::{Reader, Report, latest_records};
use crate::sink::upsert_offsets;
use balados_platform::Settings;
use balados_platform::kafka::inspect::Inspector;
use balados_platform::kafka::partitioner::partition_for;
use balados_platform::retirement::retirement_of;
use balados_schemas::{Codec, Contract, StateEntity, UserId, UserStateRecord};
use sqlx::PgPool;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

mod copy;

/// How long the aggregators and materializers may take to catch up before the growth gives up.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(180);
const CLIENT_ID: &str = "balados-grow";

#[derive(Debug, thiserror::Error)]
pub enum GrowError {
    #[error("{0}")]
    Refused(String),
    #[error(
        "the {what} did not catch up within {}s; the writes stay paused (start them, then run the \
         growth again with the same arguments)",
        DRAIN_TIMEOUT.as_secs()
    )]
    NotDrained { what: &'static str },
    #[error(
        "a command reached the retired topics after the pause ({topic}[{partition}] offset \
         {offset}): an instance that cannot read PostgreSQL is still writing; stop it, delete the \
         successor's topics and the row of materializer.retired_topics, and run the growth again"
    )]
    LateWrite {
        topic: String,
        partition: i32,
        offset: i64,
    },
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// What a growth did.
#[derive(Debug, Default)]
pub struct GrowReport {
    pub from_partitions: i32,
    pub events: u64,
    pub state_records: u64,
    pub users: usize,
    pub public_events: u64,
    pub dead_letters: u64,
    /// From the retirement (writes refused) to the end of the copy.
    pub pause: Duration,
}

/// Grows the topics of `settings` into those of `successor` (its prefix and partition count).
/// `codec` writes state records under the successor's subjects.
pub async fn grow(
    settings: &Settings,
    pool: &PgPool,
    codec: &Codec,
    successor: &Settings,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<GrowReport, GrowError> {
    let (old, new) = (settings.topics(), successor.topics());
    let inspector = Inspector::new(&settings.kafka, CLIENT_ID).map_err(anyhow::Error::from)?;
    let from = check(settings, successor, &inspector, pool).await?;
    balados_platform::kafka::ensure_topics(
        &successor.kafka,
        &new.specs(successor.kafka.partitions),
    )
    .await
    .map_err(anyhow::Error::from)?;
    for spec in new.specs(successor.kafka.partitions) {
        if !copy::is_empty(&inspector, &spec.name, spec.partitions)? {
            return Err(GrowError::Refused(format!(
                "{} already holds records (an interrupted growth?): delete the successor's \
                 topics and its offsets, then run the growth again",
                spec.name
            )));
        }
    }
    retire(pool, settings, successor).await?;
    let paused = Instant::now();
    let settle = balados_platform::retirement::settle();
    progress(&format!(
        "writes to {}.* refused from now on; waiting {} s for writes on their way",
        settings.kafka.topic_prefix,
        settle.as_secs()
    ));
    tokio::time::sleep(settle).await;
    let commands_end = copy::ends(&inspector, &old.commands, from)?;
    drained(settings, pool, &inspector).await?;
    progress("every command decided, every event applied and published; copying");

    let mut report = GrowReport {
        from_partitions: from,
        ..GrowReport::default()
    };
    let out = copy::Output::new(successor)?;
    let last_events = copy::events(
        &inspector,
        &out,
        &old.events,
        from,
        &new.events,
        &mut report,
    )
    .await?;
    let reader = Reader::new(settings).map_err(anyhow::Error::from)?;
    let mut read = Report::default();
    let latest = latest_records(&reader, settings, codec, None, &mut read).await?;
    let mut records = Vec::with_capacity(latest.len());
    for (key, entity) in latest.into_values() {
        let Some(entity) = entity else { continue };
        let user = key.user_id().clone();
        let entity = repointed(entity, &user, &last_events);
        let record = UserStateRecord {
            user_id: user.clone(),
            source_offset: -1,
            entity,
        };
        let bytes = codec
            .encode(Contract::UserState, record.to_avro())
            .map_err(anyhow::Error::from)?;
        let partition = partition_for(user.as_str().as_bytes(), successor.kafka.partitions);
        if matches!(record.entity, StateEntity::Meta { .. }) {
            report.users += 1;
        }
        records.push((partition, key.encode().into_bytes(), bytes));
    }
    report.state_records = out.send_all(&new.user_state, &records).await?;
    report.public_events =
        copy::latest_by_key(&inspector, &out, &old.public_events, &new.public_events).await?;
    report.dead_letters = copy::all(&inspector, &out, &old.dead_letters, &new.dead_letters).await?;
    let ends = copy::ends(&inspector, &new.events, successor.kafka.partitions)?;
    let mut tx = pool.begin().await.map_err(anyhow::Error::from)?;
    upsert_offsets(
        &mut tx,
        &crate::runner::group(successor),
        &new.events,
        &ends,
    )
    .await
    .map_err(anyhow::Error::from)?;
    tx.commit().await.map_err(anyhow::Error::from)?;
    for (partition, end) in commands_end {
        if let Some(late) = copy::first_after(&inspector, &old.commands, partition, end)? {
            return Err(GrowError::LateWrite {
                topic: old.commands.clone(),
                partition,
                offset: late.offset,
            });
        }
    }
    sqlx::query(
        "UPDATE materializer.retired_topics SET completed_at = now() WHERE topic_prefix = $1",
    )
    .bind(&settings.kafka.topic_prefix)
    .execute(pool)
    .await
    .map_err(anyhow::Error::from)?;
    report.pause = paused.elapsed();
    Ok(report)
}

/// Whether `prefix` was retired by a growth that has finished copying.
pub async fn retired_for_good(pool: &PgPool, prefix: &str) -> Result<bool, sqlx::Error> {
    Ok(retirement_of(pool, prefix)
        .await?
        .is_some_and(|(_, completed)| completed))
}

/// The partition count today; refuses a growth that is not one.
async fn check(
    settings: &Settings,
    successor: &Settings,
    inspector: &Inspector,
    pool: &PgPool,
) -> Result<i32, GrowError> {
    let refused = |m: String| Err(GrowError::Refused(m));
    let (old, new) = (&settings.kafka.topic_prefix, &successor.kafka.topic_prefix);
    if old == new {
        return refused("the successor's prefix must differ from the current one".into());
    }
    let topic = settings.topics().commands;
    let Some(from) = inspector
        .partition_count(&topic)
        .map_err(anyhow::Error::from)?
    else {
        return refused(format!("{topic} does not exist: nothing to grow"));
    };
    if successor.kafka.partitions <= from {
        return refused(format!(
            "{topic} has {from} partitions: grow to more (--to)"
        ));
    }
    let retired = retirement_of(pool, old)
        .await
        .map_err(anyhow::Error::from)?;
    if let Some((s, _)) = retired.filter(|(s, _)| s != new) {
        return refused(format!("{old} was already grown into {s}"));
    }
    // Quarantined events name the retired topics: re-drive them first (`balados admin
    // quarantine`), or they could not be after the growth.
    let (quarantined,): (i64,) = sqlx::query_as("SELECT count(*) FROM materializer.quarantine")
        .fetch_one(pool)
        .await
        .map_err(anyhow::Error::from)?;
    if quarantined > 0 {
        return refused(format!(
            "{quarantined} events are quarantined: re-drive or delete them first (balados admin \
             quarantine list | redrive)"
        ));
    }
    Ok(from)
}

async fn retire(pool: &PgPool, settings: &Settings, successor: &Settings) -> Result<(), GrowError> {
    sqlx::query(
        "INSERT INTO materializer.retired_topics (topic_prefix, successor_prefix, partitions)
         VALUES ($1, $2, $3) ON CONFLICT (topic_prefix) DO NOTHING",
    )
    .bind(&settings.kafka.topic_prefix)
    .bind(&successor.kafka.topic_prefix)
    .bind(successor.kafka.partitions)
    .execute(pool)
    .await
    .map_err(anyhow::Error::from)?;
    Ok(())
}

/// Waits until nothing is left after the aggregators' committed offsets on `commands`, after the
/// materializers' and the outcomes consumer's stored offsets on `events` and `command-results`,
/// and in the outbox of public events.
async fn drained(
    settings: &Settings,
    pool: &PgPool,
    inspector: &Inspector,
) -> Result<(), GrowError> {
    let topics = settings.topics();
    let count = inspector
        .partition_count(&topics.commands)
        .map_err(anyhow::Error::from)?
        .unwrap_or(0);
    let partitions: Vec<i32> = (0..count).collect();
    let deadline = Instant::now() + DRAIN_TIMEOUT;
    let wait = |what: &'static str| async move {
        if Instant::now() > deadline {
            return Err(GrowError::NotDrained { what });
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        Ok(())
    };
    let aggregators = format!("{}.aggregator", settings.kafka.topic_prefix);
    loop {
        let committed = balados_platform::kafka::committed::group_committed_offsets(
            &settings.kafka,
            CLIENT_ID,
            &aggregators,
            &topics.commands,
            &partitions,
        )
        .map_err(anyhow::Error::from)?;
        if copy::nothing_after(inspector, &topics.commands, &committed)? {
            break;
        }
        wait("aggregators").await?;
    }
    let consumers = [
        (
            crate::runner::group(settings),
            &topics.events,
            "materializers",
        ),
        (
            format!("{}.materializer.outcomes", settings.kafka.topic_prefix),
            &topics.command_results,
            "outcomes consumers",
        ),
    ];
    for (consumer, topic, what) in consumers {
        let count = inspector
            .partition_count(topic)
            .map_err(anyhow::Error::from)?
            .unwrap_or(0);
        loop {
            let stored: Vec<(i32, i64)> = sqlx::query_as(
                "SELECT partition, next_offset FROM materializer.offsets WHERE consumer = $1 AND topic = $2",
            )
            .bind(&consumer)
            .bind(topic)
            .fetch_all(pool)
            .await
            .map_err(anyhow::Error::from)?;
            let mut stored: BTreeMap<i32, i64> = stored.into_iter().collect();
            for p in 0..count {
                stored.entry(p).or_insert(0);
            }
            if copy::nothing_after(inspector, topic, &stored)? {
                break;
            }
            wait(what).await?;
        }
    }
    loop {
        let (waiting,): (i64,) = sqlx::query_as("SELECT count(*) FROM site.public_event_outbox")
            .fetch_one(pool)
            .await
            .map_err(anyhow::Error::from)?;
        if waiting == 0 {
            return Ok(());
        }
        wait("public events relay").await?;
    }
}

/// A meta record points at its user's last event: in the new topic now (none if their events
/// aged out of retention).
fn repointed(
    mut entity: StateEntity,
    user: &UserId,
    last_events: &HashMap<UserId, i64>,
) -> StateEntity {
    if let StateEntity::Meta { events_offset, .. } = &mut entity {
        *events_offset = last_events.get(user).copied();
    }
    entity
}
