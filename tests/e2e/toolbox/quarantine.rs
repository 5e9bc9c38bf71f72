//! Quarantined events are listed and re-driven once their cause is gone: an event whose writer
//! schema was unknown, followed by another of its user (a gap: the user is held), is applied with
//! the held one and the hold released; another user's lone event is applied; garbage stays, with
//! its reason. Re-driving again changes nothing, and the one-user replay finds nothing to apply.

use super::{admin, admin_json, framed_with, next_schema_id, produce, producer, register_variant};
use crate::helpers::{Stack, event, eventually};
use balados_schemas::{Contract, EventEnvelope, EventPayload, FeedUrl};
use std::time::Duration;

fn subscribed(user: &str, feed: &FeedUrl) -> EventEnvelope {
    let payload = EventPayload::Subscribed {
        feed: feed.clone(),
        source_id: None,
        subscribed_at: chrono::Utc::now(),
    };
    event(user, 1, payload)
}

async fn count(pool: &sqlx::PgPool, sql: &'static str, user: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sql)
        .bind(user)
        .fetch_one(pool)
        .await
        .expect(sql);
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quarantined_events_are_listed_and_redriven_once_their_schema_is_back() {
    let stack = Stack::start(true).await;
    let pool = sqlx::PgPool::connect(&stack.database_url)
        .await
        .expect("database");
    let codec = crate::helpers::codec(&stack, &[Contract::Event]).await;
    let late = next_schema_id(&pool).await;
    let encode = |e: &EventEnvelope| codec.encode(Contract::Event, e.to_avro()).expect("encodes");
    let feed = FeedUrl::parse("https://quarantine.example.com/late.xml").expect("valid");
    let device = EventPayload::DeviceUpserted {
        device_id: "phone".to_owned(),
        caption: Some("Phone".to_owned()),
        kind: None,
    };
    let events = stack.topic("events.v1");
    let producer = producer();
    let records = [
        (
            "quill",
            framed_with(encode(&subscribed("quill", &feed)), late),
        ),
        ("quill", encode(&event("quill", 2, device))),
        (
            "rhea",
            framed_with(encode(&subscribed("rhea", &feed)), late),
        ),
        ("sam", b"not avro at all".to_vec()),
    ];
    for (user, value) in &records {
        produce(&producer, &events, user, value).await;
    }
    let listed = eventually(
        Duration::from_secs(30),
        "three events quarantined",
        || async {
            let listed = admin_json(&stack, &["quarantine", "list", "--json"]);
            let held = count(
                &pool,
                "SELECT count(*) FROM materializer.sequence_gaps WHERE user_id = $1",
                "quill",
            )
            .await;
            (listed["quarantine"].as_array().map(Vec::len) == Some(3) && held == 1)
                .then_some(listed)
        },
    )
    .await;
    let ids: Vec<&str> = listed["quarantine"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["id"].as_str().expect("an id"))
        .collect();
    let text = admin(&stack, &["quarantine", "list"]);
    assert!(ids.iter().all(|id| text.contains(id)), "{text}");
    let dry = admin(&stack, &["quarantine", "redrive", "--all", "--dry-run"]);
    assert_eq!(dry.matches("still fails").count(), 3, "{dry}");

    // The cause goes: the schema is registered (again) under the id the events name.
    assert_eq!(register_variant(&stack, Contract::Event).await, late);
    let dry = admin(&stack, &["quarantine", "redrive", "--all", "--dry-run"]);
    assert_eq!(dry.matches("would replay").count(), 2, "{dry}");
    let done = admin(&stack, &["quarantine", "redrive", "--all"]);
    assert!(
        done.contains("applied: quill sequence 1") && done.contains("applied: rhea sequence 1"),
        "{done}"
    );
    assert_eq!(done.matches("still fails").count(), 1, "{done}");

    let subscriptions = "SELECT count(*) FROM users.subscriptions WHERE user_id = $1";
    for user in ["quill", "rhea"] {
        assert_eq!(count(&pool, subscriptions, user).await, 1, "{user}");
        let public = "SELECT count(*) FROM site.public_events WHERE user_id = $1";
        assert_eq!(
            count(&pool, public, user).await,
            1,
            "{user}: the public projection too"
        );
    }
    let devices = "SELECT count(*) FROM users.devices WHERE user_id = $1";
    assert_eq!(
        count(&pool, devices, "quill").await,
        1,
        "the event the gap held, applied"
    );
    let gaps = "SELECT count(*) FROM materializer.sequence_gaps WHERE user_id = $1";
    assert_eq!(count(&pool, gaps, "quill").await, 0, "released");
    let left = admin_json(&stack, &["quarantine", "list", "--json"]);
    let left = left["quarantine"].as_array().expect("rows").clone();
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(
        left[0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("magic")),
        "{left:?}"
    );

    // Again: nothing more to apply, and the user's replay finds both events applied.
    let again = admin(&stack, &["quarantine", "redrive", "--all"]);
    assert_eq!(again.matches("still fails").count(), 1, "{again}");
    assert!(!again.contains("applied:"), "{again}");
    let replay = admin(&stack, &["replay-user", "--user", "quill"]);
    assert!(
        replay.contains("2 of their records")
            && replay.contains("0 events applied, 2 already applied"),
        "{replay}"
    );
    assert!(replay.contains("not held at a gap"), "{replay}");
    assert_eq!(count(&pool, subscriptions, "quill").await, 1);
    let sequence = "SELECT last_sequence FROM materializer.user_sequences WHERE user_id = $1";
    assert_eq!(count(&pool, sequence, "quill").await, 2);
}
