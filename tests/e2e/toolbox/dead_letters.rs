//! A command dead-lettered because its writer schema was unknown is listed; re-driven once the
//! schema is back it is decided once: a second re-drive skips it, and a copy that reaches the
//! aggregator anyway is answered as a duplicate (a Subscribe decided again would be accepted with
//! no event, not flagged as a duplicate: the flag is what proves it).

use super::{
    admin, admin_json, framed_with, next_schema_id, produce, producer, register_variant, subscribe,
};
use crate::helpers::{Stack, eventually, topic_reader};
use balados_schemas::{CommandResult, Contract};
use rdkafka::message::Message as _;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_lettered_command_is_redriven_once_its_schema_is_back_and_decided_once() {
    let stack = Stack::start(true).await;
    let pool = sqlx::PgPool::connect(&stack.database_url)
        .await
        .expect("database");
    let codec = crate::helpers::codec(&stack, &[Contract::Command]).await;
    let late = next_schema_id(&pool).await;
    let command = subscribe("dora", "https://dead.example.com/feed.xml");
    let id = command.command_id.to_string();
    let encoded = codec
        .encode(Contract::Command, command.to_avro())
        .expect("encodes");
    let bytes = framed_with(encoded, late);
    let producer = producer();
    let commands = stack.topic("commands.v1");
    produce(&producer, &commands, "dora", &bytes).await;

    let listed = eventually(
        Duration::from_secs(30),
        "the command dead-lettered",
        || async {
            let listed = admin_json(&stack, &["dead-letters", "list", "--json"]);
            (listed["dead_letters"].as_array().map(Vec::len) == Some(1)).then_some(listed)
        },
    )
    .await;
    let letter = &listed["dead_letters"][0];
    assert_eq!(
        letter["user"], "dora",
        "the key, as the command does not decode: {letter}"
    );
    assert!(letter["command"].is_null(), "{letter}");
    assert!(
        letter["reason"]
            .as_str()
            .is_some_and(|r| r.contains("schema")),
        "{letter}"
    );
    let dry = admin(&stack, &["dead-letters", "redrive", "--dry-run"]);
    assert!(dry.contains("still undecodable"), "{dry}");

    // The cause goes: the schema is registered (again) under the id the record names.
    assert_eq!(register_variant(&stack, Contract::Command).await, late);
    let text = admin(&stack, &["dead-letters", "list"]);
    assert!(
        text.contains(&id) && text.contains("subscribe") && text.contains("decodes"),
        "{text}"
    );
    let dry = admin(&stack, &["dead-letters", "redrive", "--dry-run"]);
    assert!(dry.contains("would be re-produced"), "{dry}");
    let done = admin(&stack, &["dead-letters", "redrive"]);
    assert!(done.contains("re-produced to"), "{done}");
    let feeds = eventually(
        Duration::from_secs(30),
        "the re-driven command decided",
        || async {
            let feeds = crate::helpers::subscriptions(&stack.server().url, "dora").await;
            (!feeds.is_empty()).then_some(feeds)
        },
    )
    .await;
    assert_eq!(feeds.len(), 1);
    let outcome = eventually(Duration::from_secs(30), "its outcome recorded", || async {
        sqlx::query_as::<_, (i32,)>(
            "SELECT event_count FROM users.command_outcomes WHERE command_id = $1",
        )
        .bind(command.command_id)
        .fetch_optional(&pool)
        .await
        .expect("query")
    })
    .await;
    assert_eq!(
        outcome,
        (3,),
        "subscribed, default collection created and joined"
    );

    // Twice: skipped. A copy produced anyway (a re-drive racing another) is a duplicate.
    let again = admin(&stack, &["dead-letters", "redrive"]);
    assert!(
        again.contains("already decided") && !again.contains("re-produced to"),
        "{again}"
    );
    produce(&producer, &commands, "dora", &bytes).await;
    let results = topic_reader(
        &format!("{}-results", stack.prefix),
        &stack.topic("command-results.v1"),
    );
    let mut seen: Vec<CommandResult> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !seen.iter().any(|r| r.duplicate) {
        assert!(
            Instant::now() < deadline,
            "the copy answered within 60 s: {seen:?}"
        );
        let Some(message) = results.poll(Duration::from_millis(200)) else {
            continue;
        };
        // The ingest's start marker has no value.
        let Some(value) = message
            .expect("no consumer error")
            .payload()
            .map(<[u8]>::to_vec)
        else {
            continue;
        };
        let value = codec
            .decode(Contract::CommandResult, &value)
            .await
            .expect("decodes");
        let result = CommandResult::from_avro(value).expect("a result");
        if result.command_id == command.command_id {
            seen.push(result);
        }
    }
    assert_eq!(seen.len(), 2, "decided once, then its copy: {seen:?}");
    assert!(!seen[0].duplicate && seen[0].event_count == 3, "{seen:?}");
    // The copy repeats the original outcome and writes nothing: no events past the first three.
    assert_eq!(seen[1].events_next_offset, -1, "{seen:?}");
    let (sequence,): (i64,) = sqlx::query_as(
        "SELECT last_sequence FROM materializer.user_sequences WHERE user_id = 'dora'",
    )
    .fetch_one(&pool)
    .await
    .expect("dora's position");
    assert_eq!(sequence, 3);
}
