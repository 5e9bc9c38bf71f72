//! Two writers of one partition at once — two instances during a rebalance, or a lane still
//! writing what it had queued when the partition moved — against the real PostgreSQL: the second
//! waits for the first and drops what it applied, for a user seen for the first time too (no
//! position row to lock yet), so every event counts once. And what the positions exclude, a
//! second public event under one id, is refused by the primary key rather than dropped.

use crate::helpers::{event, read_model_database};
use balados_materializer::sink::{Batch, write_batch};
use balados_schemas::{EventEnvelope, EventPayload, FeedUrl};
use chrono::TimeDelta;
use std::collections::BTreeMap;

const EVENTS: u64 = 800;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_writers_of_one_partition_apply_a_new_users_events_once() {
    let pool = read_model_database().await;
    let events: Vec<_> = (1..=EVENTS)
        .map(|n| {
            let feed =
                FeedUrl::parse(&format!("https://two-writers.example/{n}.xml")).expect("valid");
            let payload = EventPayload::Subscribed {
                feed,
                source_id: None,
                subscribed_at: chrono::Utc::now(),
            };
            event("first-time-user", n, payload)
        })
        .collect();
    let reached = BTreeMap::from([(0, i64::try_from(EVENTS).expect("small"))]);
    let batch = Batch {
        events: &events,
        quarantined: &[],
        next_offsets: &reached,
    };
    let grace = TimeDelta::hours(48);
    let write = || write_batch(&pool, "two-writers", "two-writers.events.v1", batch, grace);
    let (first, second) = tokio::join!(write(), write());
    let applied = first.expect("first writer").applied + second.expect("second writer").applied;
    assert_eq!(applied, EVENTS as usize, "each event applied by one writer");

    let (subscribes, feeds): (i64, i64) = sqlx::query_as(
        "SELECT coalesce(sum(subscribes), 0)::bigint, count(*) FROM site.podcast_popularity",
    )
    .fetch_one(&pool)
    .await
    .expect("popularity");
    assert_eq!(feeds, EVENTS as i64);
    assert_eq!(subscribes, EVENTS as i64, "every subscription counted once");
    let (sequence,): (i64,) = sqlx::query_as(
        "SELECT last_sequence FROM materializer.user_sequences WHERE user_id = 'first-time-user'",
    )
    .fetch_one(&pool)
    .await
    .expect("position");
    assert_eq!(sequence, EVENTS as i64);
}

/// A second public event under an event id already published (a fault upstream: the positions
/// drop replays) is refused by the primary key — for the runner to set it aside — not dropped in
/// silence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_public_event_with_one_id_is_refused() {
    let pool = read_model_database().await;
    let subscribe = |n: u64| EventPayload::Subscribed {
        feed: FeedUrl::parse(&format!("https://duplicate-ids.example/{n}.xml")).expect("valid"),
        source_id: None,
        subscribed_at: chrono::Utc::now(),
    };
    let first = event("duplicate-id-user", 1, subscribe(1));
    let mut second = event("duplicate-id-user", 2, subscribe(2));
    second.event_id = first.event_id;
    let write = |event: &EventEnvelope, next_offset: i64| {
        let reached = BTreeMap::from([(0, next_offset)]);
        let event = event.clone();
        let pool = pool.clone();
        async move {
            let batch = Batch {
                events: std::slice::from_ref(&event),
                quarantined: &[],
                next_offsets: &reached,
            };
            let grace = TimeDelta::hours(48);
            write_batch(&pool, "duplicates", "duplicates.events.v1", batch, grace).await
        }
    };
    write(&first, 1).await.expect("the first is written");
    let error = write(&second, 2).await.expect_err("the second is refused");
    let code = error.as_database_error().and_then(|e| e.code());
    assert_eq!(code.as_deref(), Some("23505"), "{error}");
}
