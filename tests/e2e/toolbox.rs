//! The operator's toolbox (docs/operations.md) against the real broker, registry and PostgreSQL:
//! `admin lag` before and after the consumers caught up, `admin describe`, and the re-drive of a
//! dead-lettered command and of quarantined events once their cause is gone.
//!
//! The cause used is a writer schema the registry does not know yet (as after a registry restored
//! from an older backup): records framed with the id the registry gives next are dead-lettered or
//! quarantined, then a schema registered under another subject takes that id and they decode.

mod dead_letters;
mod quarantine;

use crate::helpers::{REGISTRY_PASSWORD, Stack, binary, kafka_bootstrap};
use balados_schemas::{CommandEnvelope, CommandPayload, Contract, FeedUrl};
use rdkafka::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::Value;
use std::time::{Duration, Instant};

/// Runs `balados admin ARGS` with the stack's settings; what it printed. It must succeed.
pub(crate) fn admin(stack: &Stack, args: &[&str]) -> String {
    let output = std::process::Command::new(binary())
        .arg("admin")
        .args(args)
        .envs(stack.server_env())
        .output()
        .expect("balados admin runs");
    assert!(
        output.status.success(),
        "admin {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub(crate) fn admin_json(stack: &Stack, args: &[&str]) -> Value {
    let said = admin(stack, args);
    serde_json::from_str(&said).unwrap_or_else(|e| panic!("admin {args:?}: {e}: {said}"))
}

pub(crate) fn producer() -> FutureProducer {
    ClientConfig::new()
        .set("bootstrap.servers", kafka_bootstrap())
        .set("partitioner", "murmur2_random")
        .create()
        .expect("producer")
}

pub(crate) async fn produce(producer: &FutureProducer, topic: &str, key: &str, value: &[u8]) {
    producer
        .send(
            FutureRecord::to(topic).key(key).payload(value),
            Duration::from_secs(10),
        )
        .await
        .map_err(|(e, _)| e)
        .expect("produced");
}

/// The id the registry gives the next schema it stores.
pub(crate) async fn next_schema_id(pool: &sqlx::PgPool) -> u32 {
    let (last, called): (i64, bool) =
        sqlx::query_as("SELECT last_value, is_called FROM registry.schema_ids")
            .fetch_one(pool)
            .await
            .expect("the registry's id sequence");
    u32::try_from(if called { last + 1 } else { last }).expect("positive")
}

/// `bytes` (Confluent wire format) as if written with schema `id`.
pub(crate) fn framed_with(mut bytes: Vec<u8>, id: u32) -> Vec<u8> {
    bytes[1..5].copy_from_slice(&id.to_be_bytes());
    bytes
}

/// Registers the contract's schema, its doc changed (a new schema, the same layout), under a
/// subject no process uses; its id.
pub(crate) async fn register_variant(stack: &Stack, contract: Contract) -> u32 {
    let mut schema: Value = serde_json::from_str(contract.schema_text()).expect("json");
    schema["doc"] = Value::String("registered again by the toolbox test".into());
    let subject = format!("{}.toolbox-late-value", stack.prefix);
    let response = reqwest::Client::new()
        .post(format!(
            "{}/subjects/{subject}/versions",
            stack.registry_url
        ))
        .basic_auth("operator", Some(REGISTRY_PASSWORD))
        .header("Content-Type", "application/vnd.schemaregistry.v1+json")
        .json(&serde_json::json!({ "schema": schema.to_string() }))
        .send()
        .await
        .expect("registry reachable");
    assert!(response.status().is_success(), "{}", response.status());
    let body: Value = response.json().await.expect("json");
    u32::try_from(body["id"].as_u64().expect("an id")).expect("small")
}

pub(crate) fn subscribe(user: &str, feed: &str) -> CommandEnvelope {
    crate::helpers::command(
        user,
        CommandPayload::Subscribe {
            feed: FeedUrl::parse(feed).expect("valid"),
            source_id: None,
        },
    )
}

/// The lag rows of `group`.
fn rows_of<'a>(lag: &'a Value, group: &str) -> Vec<&'a Value> {
    lag["partitions"]
        .as_array()
        .expect("partitions")
        .iter()
        .filter(|p| p["group"] == group)
        .collect()
}

fn total(rows: &[&Value]) -> i64 {
    rows.iter()
        .map(|r| r["lag_records"].as_i64().expect("lag"))
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lag_counts_what_waits_and_falls_to_zero_once_consumed_and_describe_lists_the_topics() {
    let mut stack = Stack::start(false).await;
    admin(&stack, &["topics"]);
    let codec = crate::helpers::codec(&stack, &[Contract::Command]).await;
    let commands = stack.topic("commands.v1");
    let producer = producer();
    for n in 0..5 {
        let command = subscribe(
            &format!("lag-{n}"),
            &format!("https://lag.example.com/{n}.xml"),
        );
        let bytes = codec
            .encode(Contract::Command, command.to_avro())
            .expect("encodes");
        produce(&producer, &commands, command.user_id.as_str(), &bytes).await;
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let aggregator = format!("{}.aggregator", stack.prefix);
    let materializer = format!("{}.materializer", stack.prefix);

    // Nothing consumes yet: the five commands wait, the oldest for over a second.
    let before = admin_json(&stack, &["lag", "--json"]);
    let waiting = rows_of(&before, &aggregator);
    assert_eq!(waiting.len(), 3, "one row per partition: {before}");
    assert_eq!(total(&waiting), 5, "{before}");
    for row in &waiting {
        assert_eq!(row["source"], "kafka");
        let (records, seconds) = (row["lag_records"].as_i64(), row["lag_seconds"].as_f64());
        if records > Some(0) {
            assert!(seconds.is_some_and(|s| s >= 1.0), "{row}");
        }
    }
    let events = rows_of(&before, &materializer);
    assert!(
        events.iter().all(|r| r["source"] == "postgresql"),
        "{before}"
    );
    assert_eq!(total(&events), 0, "no event yet: {before}");

    // The consumers run: every figure comes back to 0.
    stack.start_server(&[]).await;
    let outcomes = format!("{}.materializer.outcomes", stack.prefix);
    let deadline = Instant::now() + Duration::from_secs(60);
    let after = loop {
        let lag = admin_json(&stack, &["lag", "--json"]);
        let caught_up = [&aggregator, &materializer, &outcomes].iter().all(|g| {
            let rows = rows_of(&lag, g);
            rows.len() == 3
                && total(&rows) == 0
                && rows.iter().all(|r| r["lag_seconds"].as_f64() == Some(0.0))
        });
        if caught_up {
            break lag;
        }
        assert!(
            Instant::now() < deadline,
            "every consumer caught up within 60 s: {lag:#}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let events_high: i64 = rows_of(&after, &materializer)
        .iter()
        .map(|r| r["high"].as_i64().expect("high"))
        .sum();
    assert!(
        events_high >= 15,
        "three events per first subscription: {after}"
    );
    let text = admin(&stack, &["lag"]);
    assert!(text.starts_with("GROUP "), "{text}");
    assert!(
        text.contains(&format!("{materializer} ")) && text.contains("postgresql"),
        "{text}"
    );

    // describe: every topic with its partition count and the configs that decide retention.
    let described = admin_json(&stack, &["describe", "topics", "--json"]);
    let topics = described["topics"].as_array().expect("topics");
    let topic = |suffix: &str| {
        topics
            .iter()
            .find(|t| t["name"] == stack.topic(suffix))
            .unwrap_or_else(|| panic!("{suffix} listed: {described}"))
    };
    for (suffix, partitions) in [("commands.v1", 3), ("events.v1", 3), ("dead-letters.v1", 1)] {
        assert_eq!(topic(suffix)["partition_count"], partitions, "{suffix}");
        assert_eq!(
            topic(suffix)["partitions"].as_array().map(Vec::len),
            Some(partitions)
        );
    }
    let commands_high: i64 = topic("commands.v1")["partitions"]
        .as_array()
        .expect("partitions")
        .iter()
        .map(|p| p["high"].as_i64().expect("high"))
        .sum();
    assert_eq!(commands_high, 5, "{described}");
    assert_eq!(
        topic("events.v1")["configs"]["cleanup.policy"],
        "delete",
        "{described}"
    );
    assert_eq!(
        topic("user-state.v1")["configs"]["cleanup.policy"],
        "compact",
        "{described}"
    );
    let groups = admin(&stack, &["describe", "groups"]);
    assert!(
        groups.contains(&format!("{aggregator}  state=")),
        "{groups}"
    );
}
