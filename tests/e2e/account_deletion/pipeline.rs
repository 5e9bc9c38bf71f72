//! Talking to the pipeline below the HTTP API, as the account pages do: commands produced as the
//! ingest produces them (no HTTP route sends a `DeleteAccount`), their outcomes read from
//! `command-results`, and the latest records of a compacted topic.

use crate::helpers::command;
use crate::helpers::{Stack, kafka_bootstrap, topic_reader};
use balados_schemas::{Codec, CommandEnvelope, CommandPayload, CommandResult, Contract, Topics};
use rdkafka::ClientConfig;
use rdkafka::message::Message as _;
use rdkafka::producer::{FutureProducer, FutureRecord};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The consistency token of an outcome (as `platform::outcome` makes it).
pub(super) fn token_of(result: &CommandResult) -> String {
    format!(
        "v1.{}.{}",
        result.events_partition, result.events_next_offset
    )
}

/// Deletes `user`'s account with a `DeleteAccount` produced as the ingest produces commands (no
/// HTTP route sends one yet), and waits for its outcome: the command id and the consistency token
/// a read presents to see the deletion materialized.
pub(crate) async fn delete_account(stack: &Stack, user: &str) -> (uuid::Uuid, String) {
    let decided = send_deletion(stack, user).await;
    assert_eq!((&decided.rejection_code, decided.event_count), (&None, 1));
    (decided.command_id, token_of(&decided))
}

/// Sends a `DeleteAccount` of `user`; its outcome.
pub(super) async fn send_deletion(stack: &Stack, user: &str) -> CommandResult {
    let codec = crate::helpers::codec(stack, &[Contract::Command]).await;
    let deletion = command(user, CommandPayload::DeleteAccount {});
    produce(&codec, &Topics::new(&stack.prefix).commands, &[&deletion]).await;
    outcome(stack, &codec, deletion.command_id).await
}

/// Produces commands as the ingest does (Avro through the registry, keyed by user id), sent
/// together before any acknowledgement is awaited.
pub(super) async fn produce(codec: &Codec, topic: &str, commands: &[&CommandEnvelope]) {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", kafka_bootstrap())
        .set("partitioner", "murmur2_random")
        .set("linger.ms", "20")
        .create()
        .expect("producer");
    let mut deliveries = Vec::new();
    for command in commands {
        let bytes = codec
            .encode(Contract::Command, command.to_avro())
            .expect("encodes");
        let record = FutureRecord::to(topic)
            .key(command.user_id.as_str())
            .payload(&bytes);
        deliveries.push(
            producer
                .send_result(record)
                .map_err(|(e, _)| e)
                .expect("queued"),
        );
    }
    for delivery in deliveries {
        delivery
            .await
            .expect("delivered")
            .map_err(|(e, _)| e)
            .expect("acknowledged");
    }
}

/// The outcome of `command_id`, read from `command-results`.
pub(super) async fn outcome(stack: &Stack, codec: &Codec, command_id: uuid::Uuid) -> CommandResult {
    let topic = Topics::new(&stack.prefix).command_results;
    let group = format!("{}-deletion-{command_id}", stack.prefix);
    let consumer = topic_reader(&group, &topic);
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let Some(message) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let message = message.expect("no consumer error");
        // The ingest's start markers are empty records.
        let Some(bytes) = message.payload().filter(|b| !b.is_empty()) else {
            continue;
        };
        let value = codec
            .decode(Contract::CommandResult, bytes)
            .await
            .expect("decodes");
        let result = CommandResult::from_avro(value).expect("a result");
        if result.command_id == command_id {
            return result;
        }
    }
    panic!("no outcome for the command {command_id} within 30 s");
}

/// The latest value per key of `topic` (`None`: a tombstone), once `done` holds of it and the
/// topic has had nothing more for a second (so that what was written before the call is read).
pub(super) async fn latest_until(
    stack: &Stack,
    topic: &str,
    what: &str,
    done: impl Fn(&BTreeMap<String, Option<Vec<u8>>>) -> bool,
) -> BTreeMap<String, Option<Vec<u8>>> {
    let group = format!("{}-deletion-{}", stack.prefix, what.replace(' ', "-"));
    let consumer = topic_reader(&group, topic);
    let mut latest = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done(&latest) {
        assert!(
            Instant::now() < deadline,
            "{what}: never reached; {latest:?}"
        );
        if let Some(message) = consumer.poll(Duration::from_millis(200)) {
            let message = message.expect("no consumer error");
            let key = String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned();
            latest.insert(key, message.payload().map(<[u8]>::to_vec));
        }
    }
    while let Some(message) = consumer.poll(Duration::from_secs(1)) {
        let message = message.expect("no consumer error");
        let key = String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned();
        latest.insert(key, message.payload().map(<[u8]>::to_vec));
    }
    latest
}
