//! Deleting an account through the pipeline: once the deletion is decided and materialized,
//! nothing of the user is left in the read models, the public timeline, the popularity numbers,
//! `public-events` (a tombstone per withdrawn event) or `user-state` (a tombstone per record);
//! another user is untouched; and the same user id starts again from nothing.

use crate::helpers::{Api, Stack, feed_id, kafka_bootstrap, topic_reader};
use balados_schemas::{
    Codec, CommandEnvelope, CommandPayload, CommandResult, Contract, FeedUrl, Topics, UserId,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rdkafka::ClientConfig;
use rdkafka::message::Message as _;
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

const ALICE: &str = "del-alice";
const BOB: &str = "del-bob";

/// Every table keyed by user (the read models and the materializer's bookkeeping), but
/// `users.command_outcomes` (see below).
const USER_TABLES: [&str; 13] = [
    "users.subscriptions",
    "users.play_statuses",
    "users.user_privacy",
    "users.devices",
    "users.playlists",
    "users.playlist_items",
    "users.collections",
    "users.collection_feeds",
    "users.public_event_refs",
    "site.public_events",
    "site.popularity_counted",
    "materializer.user_sequences",
    "materializer.sequence_gaps",
];

fn item(n: u32) -> String {
    URL_SAFE_NO_PAD.encode(format!("del-{n},https://cdn.example.com/del/{n}.mp3"))
}

/// A command of `user`, as the ingest builds one (without a reply address).
fn command(user: &str, payload: CommandPayload) -> CommandEnvelope {
    let now = chrono::Utc::now();
    CommandEnvelope {
        command_id: uuid::Uuid::new_v4(),
        user_id: UserId::parse(user).expect("valid"),
        occurred_at: now,
        received_at: now,
        app_id: Some(crate::helpers::APP.to_owned()),
        device_id: None,
        device_name: None,
        reply_to: None,
        payload,
    }
}

/// The consistency token of an outcome (as `platform::outcome` makes it).
fn token_of(result: &CommandResult) -> String {
    format!(
        "v1.{}.{}",
        result.events_partition, result.events_next_offset
    )
}

/// Deletes `user`'s account with a `DeleteAccount` produced as the ingest produces commands (no
/// HTTP route sends one yet), and waits for its outcome: the command id and the consistency token
/// a read presents to see the deletion materialized.
pub(crate) async fn delete_account(stack: &Stack, user: &str) -> (uuid::Uuid, String) {
    let codec = crate::helpers::codec(stack, &[Contract::Command]).await;
    let deletion = command(user, CommandPayload::DeleteAccount {});
    produce(&codec, &Topics::new(&stack.prefix).commands, &[&deletion]).await;
    let decided = outcome(stack, &codec, deletion.command_id).await;
    assert_eq!((&decided.rejection_code, decided.event_count), (&None, 1));
    (deletion.command_id, token_of(&decided))
}

/// Produces commands as the ingest does (Avro through the registry, keyed by user id), sent
/// together before any acknowledgement is awaited.
async fn produce(codec: &Codec, topic: &str, commands: &[&CommandEnvelope]) {
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
async fn outcome(stack: &Stack, codec: &Codec, command_id: uuid::Uuid) -> CommandResult {
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

/// The latest value per key of `topic` (`None`: a tombstone), once `done` holds of it.
async fn latest_until(
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
    latest
}

/// Whether every list in a read answer is empty (and there is one).
fn empty_lists(body: &Value) -> bool {
    let lists: Vec<&Vec<Value>> = body
        .as_object()
        .map(|o| o.values().filter_map(Value::as_array).collect())
        .unwrap_or_default();
    !lists.is_empty() && lists.iter().all(|l| l.is_empty())
}

async fn feed_score(api: &Api, feed: &str) -> i64 {
    let (status, body) = api
        .read(&format!("/public/feed/{feed}/popularity"), None)
        .await;
    assert_eq!(status, 200, "{body}");
    body["popularity"]["score"].as_i64().expect("a score")
}

async fn count(pool: &sqlx::PgPool, table: &str, user: &str) -> i64 {
    // `table` is one of the constants above.
    let statement = format!("SELECT count(*) FROM {table} WHERE user_id = $1");
    let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(statement))
        .bind(user)
        .fetch_one(pool)
        .await
        .expect("countable");
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_deletion() {
    let stack = Stack::start(true).await;
    let url = stack.server().url.clone();
    let topics = Topics::new(&stack.prefix);
    let (alice, bob) = (Api::new(&url, ALICE), Api::new(&url, BOB));
    let shared = feed_id("https://feeds.example.com/del-shared.xml");
    let own = feed_id("https://feeds.example.com/del-own.xml");
    let sub = |feed: &str| Some(json!({ "rss_source_feed": feed }));
    let play = |feed: &str, n: u32| {
        Some(json!({"rss_source_feed": feed, "rss_source_item": item(n), "position": 10}))
    };

    // Alice subscribes and plays publicly, keeps a playlist and a device, and makes one feed
    // anonymous; Bob subscribes to and plays the same feed.
    alice.ok("POST", "/subscriptions", sub(&shared), 3).await;
    alice.ok("POST", "/subscriptions", sub(&own), 2).await;
    alice.ok("POST", "/play", play(&shared, 1), 1).await;
    alice.ok("POST", "/play", play(&own, 2), 1).await;
    let list = Some(json!({"id": "later", "name": "Later"}));
    alice.ok("POST", "/playlists", list, 1).await;
    let device = Some(json!({"caption": "Phone", "type": "mobile"}));
    alice.ok("PUT", "/devices/phone", device, 1).await;
    let anonymous = Some(json!({"privacy": "anonymous", "feed": own}));
    let last = alice.ok("PUT", "/privacy", anonymous, 1).await;
    bob.ok("POST", "/subscriptions", sub(&shared), 3).await;
    let bobs = bob.ok("POST", "/play", play(&shared, 1), 1).await;
    for (api, answer) in [(&alice, &last), (&bob, &bobs)] {
        let token = answer["consistency_token"].as_str().expect("a token");
        assert_eq!(api.read("/privacy", Some(token)).await.0, 200);
    }
    let pool = sqlx::PgPool::connect(&stack.database_url)
        .await
        .expect("database");
    let alices_events: Vec<uuid::Uuid> =
        sqlx::query_scalar("SELECT event_id FROM users.public_event_refs WHERE user_id = $1")
            .bind(ALICE)
            .fetch_all(&pool)
            .await
            .expect("references");
    assert_eq!(alices_events.len(), 4, "two subscriptions and two plays");
    assert_eq!(feed_score(&bob, &shared).await, 30, "both users' points");
    // Her 7 outcomes are stored (by another consumer than the events'), so their deletion shows.
    crate::helpers::eventually(Duration::from_secs(20), "her outcomes stored", || async {
        (count(&pool, "users.command_outcomes", ALICE).await == 7).then_some(())
    })
    .await;

    let (deletion, token) = delete_account(&stack, ALICE).await;

    // Her read models are gone: through the API (read once the deletion is materialized) and in
    // every table keyed by user.
    for path in [
        "/subscriptions",
        "/play",
        "/privacy",
        "/playlists",
        "/collections",
    ] {
        let (status, body) = alice.read(path, Some(&token)).await;
        assert!(
            status == 200 && empty_lists(&body),
            "{path}: {status} {body}"
        );
    }
    for table in USER_TABLES {
        assert_eq!(
            count(&pool, table, ALICE).await,
            0,
            "{table} keeps her rows"
        );
    }
    let (left,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM site.public_events WHERE event_id = ANY($1)")
            .bind(&alices_events)
            .fetch_one(&pool)
            .await
            .expect("countable");
    assert_eq!(left, 0, "her anonymous events are withdrawn too");
    // The deletion's own outcome may be stored after it (pruned with the others' retention).
    let outcomes: Vec<uuid::Uuid> =
        sqlx::query_scalar("SELECT command_id FROM users.command_outcomes WHERE user_id = $1")
            .bind(ALICE)
            .fetch_all(&pool)
            .await
            .expect("outcomes");
    assert!(outcomes.iter().all(|id| *id == deletion), "{outcomes:?}");

    // The public side: the timeline shows Bob's activity only, the popularity numbers his points.
    let (status, timeline) = bob.read("/public/timeline?limit=100", None).await;
    assert_eq!(status, 200, "{timeline}");
    let ids: BTreeSet<String> = timeline["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["event_id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(ids.len(), 2, "Bob's subscription and play: {timeline}");
    assert!(
        alices_events
            .iter()
            .all(|id| !ids.contains(&id.to_string()))
    );
    assert_eq!(
        feed_score(&bob, &shared).await,
        15,
        "her points are taken back"
    );
    let withdrawn: Vec<String> = alices_events.iter().map(ToString::to_string).collect();
    latest_until(&stack, &topics.public_events, "public events", |latest| {
        withdrawn
            .iter()
            .all(|id| matches!(latest.get(id), Some(None)))
            && ids.iter().all(|id| matches!(latest.get(id), Some(Some(_))))
    })
    .await;

    // Every state record of hers is a tombstone; Bob's stand.
    let prefix = format!("{ALICE}/");
    let state = latest_until(&stack, &topics.user_state, "user state", |latest| {
        let hers: Vec<_> = latest
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix))
            .collect();
        hers.len() >= 9
            && hers.iter().all(|(_, v)| v.is_none())
            && latest.get(&format!("{BOB}/meta")).is_some()
    })
    .await;
    assert!(matches!(state.get(&format!("{BOB}/meta")), Some(Some(_))));
    assert_eq!(
        crate::helpers::subscriptions(&url, BOB).await,
        vec![shared.clone()]
    );
    assert_eq!(count(&pool, "users.play_statuses", BOB).await, 1);

    // She may start again, from nothing: the first subscription creates the default collection
    // again, and her sequence starts at 1.
    let again = alice.ok("POST", "/subscriptions", sub(&own), 3).await;
    let token = again["consistency_token"].as_str().expect("a token");
    let (status, body) = alice.read("/subscriptions", Some(token)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(crate::helpers::subscriptions(&url, ALICE).await, vec![own]);
    assert!(empty_lists(&alice.read("/play", None).await.1));
    let (sequence,): (i64,) =
        sqlx::query_as("SELECT last_sequence FROM materializer.user_sequences WHERE user_id = $1")
            .bind(ALICE)
            .fetch_one(&pool)
            .await
            .expect("her new position");
    assert_eq!(sequence, 3);
    pool.close().await;
}

/// A deletion polled in one batch with commands of its user before and after it is decided in a
/// batch of its own, and the commands after it are decided too: the user's stream starts again
/// at 1 right after the deletion.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deletion_among_its_users_commands_is_decided_alone() {
    let stack = Stack::start(true).await;
    let codec = crate::helpers::codec(&stack, &[Contract::Command]).await;
    let url = |n: u32| format!("https://feeds.example.com/del-batch-{n}.xml");
    let subscribe = |n: u32| {
        let feed = FeedUrl::parse(&url(n)).expect("valid");
        command(
            ALICE,
            CommandPayload::Subscribe {
                feed,
                source_id: None,
            },
        )
    };
    let commands = [
        subscribe(1),
        command(ALICE, CommandPayload::DeleteAccount {}),
        subscribe(2),
    ];
    let sent: Vec<&CommandEnvelope> = commands.iter().collect();
    produce(&codec, &Topics::new(&stack.prefix).commands, &sent).await;
    let mut decided = Vec::new();
    for command in &commands {
        decided.push(outcome(&stack, &codec, command.command_id).await);
    }
    let sequences: Vec<(u64, u32)> = decided
        .iter()
        .map(|r| (r.first_sequence, r.event_count))
        .collect();
    // A subscription (with the default collection it creates and joins), the deletion after it,
    // and a new life from 1.
    assert_eq!(sequences, vec![(1, 3), (4, 1), (1, 3)]);
    let alice = Api::new(&stack.server().url, ALICE);
    let (status, body) = alice
        .read("/subscriptions", Some(&token_of(&decided[2])))
        .await;
    assert_eq!(status, 200, "{body}");
    let subscribed: Vec<&str> = body["subscriptions"]
        .as_array()
        .expect("subscriptions")
        .iter()
        .map(|s| s["rss_source_feed"].as_str().expect("id"))
        .collect();
    assert_eq!(subscribed, vec![feed_id(&url(2))]);
}
