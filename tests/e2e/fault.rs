//! The fault test: two aggregator processes in one group, a stream of 50,000 commands of every
//! area over many users, each process SIGKILLed and restarted several times during the stream.
//! Afterwards every command has an outcome (one per command id, whatever copies a broker shows),
//! the per-user sequences have no gap and no repeat, and every event equals, field for field, the
//! event of a run without faults — computed here with the aggregator's own pure domain.
//!
//! To investigate a failure: FAULT_KILLS (default 6; 0 runs without faults), FAULT_SINGLE=1 (one
//! aggregator), FAULT_COMMANDS and FAULT_USERS (default 50,000 and 500); the stream is the same
//! for the same parameters. A mismatching outcome prints the whole history of its user.

use crate::helpers::{Stack, binary, decode_event, kafka_bootstrap, uncommitted_topic_reader};
use balados_aggregator::handle::handle;
use balados_domain::UserState;
use balados_schemas::{
    CommandEnvelope, CommandPayload, CommandResult, Contract, EventEnvelope, FeedUrl, ItemId,
    LocalId, Name, Privacy, Scope, Seconds, SyncPlay, SyncPlaylist, SyncPlaylistItem,
    SyncSubscription, Topics, UserId,
};
use chrono::{TimeZone as _, Utc};
use rdkafka::ClientConfig;
use rdkafka::message::Message as _;
use rdkafka::producer::{FutureProducer, FutureRecord};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

const USERS: u64 = 500;
const COMMANDS: u64 = 50_000;
const FEEDS: u64 = 8;

/// xorshift64*: a deterministic stream, so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

fn commands() -> Vec<CommandEnvelope> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let base = 1_700_000_000_000_i64;
    let env = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let (count, users) = (env("FAULT_COMMANDS", COMMANDS), env("FAULT_USERS", USERS));
    (0..count)
        .map(|i| {
            let user = rng.next() % users;
            let feed = FeedUrl::parse(&format!(
                "https://fault.example.com/{}.xml",
                rng.next() % FEEDS
            ))
            .expect("valid");
            let at = Utc
                .timestamp_millis_opt(base + i64::try_from(i).expect("small") * 1000)
                .single()
                .expect("valid");
            let payload = payload(&mut rng, feed);
            CommandEnvelope {
                command_id: uuid::Uuid::from_u64_pair(0xfa17, i),
                user_id: UserId::parse(&format!("fault-user-{user}")).expect("valid"),
                occurred_at: at,
                received_at: at,
                app_id: Some("fault-test".into()),
                device_id: None,
                device_name: None,
                reply_to: None,
                payload,
            }
        })
        .collect()
}

/// A command of any area, on a few ids per user so that they meet: subscriptions (the most
/// frequent), plays, saves, privacy, playlists and collections — rejections (unknown playlist,
/// unsubscribed feed, positions out of bounds) and deletions (tombstones) included.
fn payload(rng: &mut Rng, feed: FeedUrl) -> CommandPayload {
    let n = rng.next();
    let item = ItemId::new(
        &format!("g{}", n % 4),
        &format!("https://fault.example.com/{}.mp3", n % 4),
    )
    .expect("valid");
    let id = LocalId::parse(&format!("x{}", (n >> 8) % 3)).expect("valid");
    match rng.next() % 17 {
        0..=4 => CommandPayload::Subscribe {
            feed,
            source_id: None,
        },
        5 | 6 => CommandPayload::Unsubscribe { feed },
        7 => CommandPayload::RecordPlay {
            feed,
            item,
            // Beyond the duration one time in seven: a rejection.
            position: Seconds::parse(i64::try_from(n % 700).expect("small")).expect("valid"),
            duration: Some(Seconds::parse(600).expect("valid")),
            played: n.is_multiple_of(5),
        },
        8 => CommandPayload::SaveEpisode { feed, item },
        9 => CommandPayload::UnsaveEpisode { item },
        10 => CommandPayload::ChangePrivacy {
            scope: Scope::Feed(feed),
            privacy: [Privacy::Public, Privacy::Anonymous, Privacy::Private]
                [usize::try_from(n % 3).expect("small")],
        },
        11 => CommandPayload::CreatePlaylist {
            playlist_id: id,
            name: Name::parse("Fault").expect("valid"),
            description: None,
            public: false,
        },
        12 => CommandPayload::AddPlaylistItem {
            playlist_id: id,
            feed,
            item,
        },
        13 => CommandPayload::DeletePlaylist { playlist_id: id },
        14 => CommandPayload::AddCollectionFeed {
            collection_id: LocalId::parse("default").expect("valid"),
            feed,
        },
        // A bulk sync of what the other commands touch, with the client's times.
        16 => {
            let at = Utc
                .timestamp_opt(1_700_000_000 + i64::try_from(n % 1_000).expect("small"), 0)
                .single()
                .expect("valid");
            CommandPayload::Sync {
                last_sync: None,
                subscriptions: vec![SyncSubscription {
                    feed: feed.clone(),
                    subscribed_at: Some(at),
                    unsubscribed_at: n.is_multiple_of(3).then_some(at),
                }],
                plays: vec![SyncPlay {
                    feed: feed.clone(),
                    item: item.clone(),
                    position: Seconds::parse(i64::try_from(n % 700).expect("small"))
                        .expect("valid"),
                    duration: Some(Seconds::parse(600).expect("valid")),
                    played: n.is_multiple_of(5),
                    updated_at: at,
                    reset: n.is_multiple_of(7),
                }],
                playlists: vec![SyncPlaylist {
                    playlist_id: id,
                    name: Name::parse("Synced").expect("valid"),
                    updated_at: at,
                    deleted_at: None,
                    items: vec![SyncPlaylistItem {
                        feed,
                        item,
                        added_at: at,
                        removed_at: None,
                    }],
                }],
            }
        }
        _ => CommandPayload::MoveCollectionFeed {
            collection_id: LocalId::parse("default").expect("valid"),
            feed,
            position: i64::try_from(n % 4).expect("small"),
        },
    }
}

/// An outcome as compared: rejection code, first sequence, event count.
type OutcomeSummary = (Option<String>, u64, u32);
type ExpectedEvents = BTreeMap<(String, u64), EventEnvelope>;

/// The events and outcomes of a run without faults.
fn expected(commands: &[CommandEnvelope]) -> (ExpectedEvents, HashMap<uuid::Uuid, OutcomeSummary>) {
    let mut states: HashMap<UserId, UserState> = HashMap::new();
    let mut events = BTreeMap::new();
    let mut outcomes = HashMap::new();
    for command in commands {
        let state = states.entry(command.user_id.clone()).or_default();
        // Partition and offset only label the records; the decisions do not depend on them.
        let handled = handle(state, command, 0, 0);
        for event in handled.events {
            events.insert((event.user_id.as_str().to_owned(), event.sequence), event);
        }
        let r = handled.result;
        outcomes.insert(
            r.command_id,
            (r.rejection_code, r.first_sequence, r.event_count),
        );
    }
    (events, outcomes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_aggregators_killed_mid_stream_lose_and_duplicate_nothing() {
    let stack = Stack::start(false).await;
    let topics = Topics::new(&stack.prefix);
    let status = std::process::Command::new(binary())
        .args(["admin", "topics"])
        .envs(stack.server_env())
        .output()
        .expect("runs");
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let codec = crate::helpers::codec(&stack, &[Contract::Command]).await;

    let fast_group = [(
        "BALADOS__KAFKA__SESSION_TIMEOUT_MS".to_owned(),
        "6000".to_owned(),
    )];
    let env = |id: &str| {
        let mut env = fast_group.to_vec();
        env.push(("BALADOS__AGGREGATOR__INSTANCE_ID".to_owned(), id.to_owned()));
        env
    };
    let mut a = Some(stack.spawn_service("aggregator", &env("a")));
    let mut b = if std::env::var_os("FAULT_SINGLE").is_some() {
        None
    } else {
        Some(stack.spawn_service("aggregator", &env("b")))
    };

    let commands = commands();
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", kafka_bootstrap())
        .set("enable.idempotence", "true")
        .set("partitioner", "murmur2_random")
        .set("linger.ms", "20")
        .create()
        .expect("producer");
    let deliveries: Vec<_> = commands
        .iter()
        .map(|c| {
            let bytes = codec
                .encode(Contract::Command, c.to_avro())
                .expect("encodes");
            let record = FutureRecord::to(&topics.commands)
                .key(c.user_id.as_str())
                .payload(&bytes);
            producer
                .send_result(record)
                .map_err(|(e, _)| e)
                .expect("enqueued")
        })
        .collect();
    for delivery in deliveries {
        delivery
            .await
            .expect("delivered")
            .map_err(|(e, _)| e)
            .expect("acknowledged");
    }

    // Kill each process three times while the stream is being processed.
    // Both aggregators write every reply partition in their transactions: read uncommitted (see
    // `uncommitted_topic_reader`); copies of an outcome are compared below.
    let results = uncommitted_topic_reader(
        &format!("{}-fault-results", stack.prefix),
        &topics.command_results,
    );
    let mut outcomes: HashMap<uuid::Uuid, CommandResult> = HashMap::new();
    let mut kills = 0;
    // FAULT_KILLS=0 runs the same stream without faults (to tell a fault bug from another).
    let max_kills: u32 = std::env::var("FAULT_KILLS")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(6);
    let mut last_kill = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(420);
    while outcomes.len() < commands.len() {
        assert!(
            Instant::now() < deadline,
            "only {} of {} outcomes after the deadline",
            outcomes.len(),
            commands.len()
        );
        if kills < max_kills && last_kill.elapsed() > Duration::from_secs(4) {
            let (slot, id) = if kills % 2 == 0 {
                (&mut a, "a")
            } else {
                (&mut b, "b")
            };
            slot.take().expect("running").kill();
            *slot = Some(stack.spawn_service("aggregator", &env(id)));
            kills += 1;
            last_kill = Instant::now();
        }
        if let Some(message) = results.poll(Duration::from_millis(100)) {
            let message = message.expect("no consumer error");
            let value = codec
                .decode(Contract::CommandResult, message.payload().expect("value"))
                .await
                .expect("decodes");
            let result = CommandResult::from_avro(value).expect("a result");
            if let Some(previous) = outcomes.get(&result.command_id) {
                let same =
                    |r: &CommandResult| (r.rejection_code.clone(), r.first_sequence, r.event_count);
                assert_eq!(
                    same(previous),
                    same(&result),
                    "two different outcomes for one command"
                );
            } else {
                outcomes.insert(result.command_id, result);
            }
        }
    }
    assert!(
        kills >= max_kills,
        "the stream ended before the faults ({kills} kills): make it longer"
    );

    let (expected_events, expected_outcomes) = expected(&commands);
    for (id, (code, first, count)) in &expected_outcomes {
        let got = &outcomes[id];
        if (&got.rejection_code, got.first_sequence, got.event_count) != (code, *first, *count) {
            let cmd = commands
                .iter()
                .find(|c| &c.command_id == id)
                .expect("known");
            for (i, c) in commands
                .iter()
                .enumerate()
                .filter(|(_, c)| c.user_id == cmd.user_id)
            {
                let o = &outcomes[&c.command_id];
                eprintln!(
                    "history {i} {:?} expected={:?} got=({:?},{},{}) dup={} part={}",
                    c.payload,
                    expected_outcomes[&c.command_id],
                    o.rejection_code,
                    o.first_sequence,
                    o.event_count,
                    o.duplicate,
                    o.events_partition
                );
            }
        }
        assert_eq!(
            (&got.rejection_code, got.first_sequence, got.event_count),
            (code, *first, *count),
            "outcome of {id}"
        );
    }

    let events =
        uncommitted_topic_reader(&format!("{}-fault-events", stack.prefix), &topics.events);
    let mut seen: BTreeMap<(String, u64), EventEnvelope> = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while seen.len() < expected_events.len() {
        assert!(
            Instant::now() < deadline,
            "only {} of {} events",
            seen.len(),
            expected_events.len()
        );
        let Some(message) = events.poll(Duration::from_millis(100)) else {
            continue;
        };
        let message = message.expect("no consumer error");
        let event = decode_event(&codec, &message).await;
        let key = (event.user_id.as_str().to_owned(), event.sequence);
        let expected = expected_events
            .get(&key)
            .unwrap_or_else(|| panic!("an event that a run without faults does not have: {key:?}"));
        assert_eq!(
            &event, expected,
            "event {key:?} differs from the run without faults"
        );
        seen.insert(key, event);
    }
    drop((a, b));
}
