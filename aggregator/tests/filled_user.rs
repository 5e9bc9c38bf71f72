//! A user filled to every per-user limit with the largest legal value of every field: every record
//! the aggregator writes for them (command, events, state records, result) fits a broker's record
//! (Kafka's and librdkafka's default `message.max.bytes`, 1,000,000), with the headroom the
//! aggregator keeps for headers and framing. Without I/O: the records are encoded with the
//! released schemas, as the codec does.

use apache_avro::Schema;
use balados_aggregator::handle::{Handled, handle};
use balados_domain::{MAX_REMOVED_BYTES, UserState};
use balados_schemas::fields::{
    MAX_DESCRIPTION_CHARS, MAX_LIST_BYTES, MAX_LOCAL_ID_LEN, MAX_NAME_CHARS, MAX_SECONDS,
    MAX_SOURCE_ID_LEN,
};
use balados_schemas::ids::{MAX_FEED_URL_LEN, MAX_GUID_LEN, MAX_USER_ID_LEN};
use balados_schemas::{
    CommandEnvelope, CommandPayload, Contract, Description, DeviceId, DeviceKind, FeedUrl, ItemId,
    LocalId, Name, Privacy, Scope, Seconds, SourceId, UserId,
};
use chrono::{TimeZone as _, Utc};

/// A broker's default record limit.
const BROKER_MAX: usize = 1_000_000;
/// What the aggregator keeps free for headers, framing and the batch (its own `RECORD_OVERHEAD`).
const HEADROOM: usize = 1_024;

/// A unique URL of exactly the largest accepted length.
fn url(kind: &str, n: u32) -> String {
    let head = format!("https://cdn.example.com/{kind}/{n:06}/");
    format!("{head}{}", "a".repeat(MAX_FEED_URL_LEN - head.len()))
}

fn feed(n: u32) -> FeedUrl {
    FeedUrl::parse(&url("feed", n)).expect("largest feed URL")
}

fn item(n: u32) -> ItemId {
    let guid = format!("{n:06}{}", "g".repeat(MAX_GUID_LEN - 6));
    ItemId::new(&guid, &url("ep", n)).expect("largest episode")
}

fn longest_id(tag: char) -> LocalId {
    LocalId::parse(&tag.to_string().repeat(MAX_LOCAL_ID_LEN)).expect("largest id")
}

/// Four-byte characters: the largest text in bytes for its length in characters.
fn wide(chars: usize) -> String {
    "𝄞".repeat(chars)
}

struct Encoder {
    command: Schema,
    event: Schema,
    state: Schema,
    result: Schema,
    largest: usize,
}

impl Encoder {
    fn new() -> Self {
        let parse = |c: Contract| Schema::parse_str(c.schema_text()).expect("released schema");
        Self {
            command: parse(Contract::Command),
            event: parse(Contract::Event),
            state: parse(Contract::UserState),
            result: parse(Contract::CommandResult),
            largest: 0,
        }
    }

    fn check(&mut self, what: &str, key: usize, value: apache_avro::types::Value, schema: Schema) {
        let datum = balados_schemas::codec::write_datum(&schema, value).expect("encodes");
        // The Confluent wire format adds 5 bytes (magic byte and schema id).
        let size = key + 5 + datum.len();
        self.largest = self.largest.max(size);
        assert!(
            size + HEADROOM <= BROKER_MAX,
            "{what}: a record of {size} bytes does not fit"
        );
    }

    /// Every record the command and its handling write.
    fn all(&mut self, command: &CommandEnvelope, handled: &Handled) {
        let user = command.user_id.as_str().len();
        self.check("command", user, command.to_avro(), self.command.clone());
        for event in &handled.events {
            self.check("event", user, event.to_avro(), self.event.clone());
        }
        for write in &handled.records {
            if let Some(record) = write.record() {
                let key = write.key.encode().len();
                self.check("state record", key, record.to_avro(), self.state.clone());
            }
        }
        self.check(
            "result",
            user,
            handled.result.to_avro(),
            self.result.clone(),
        );
    }
}

struct User {
    state: UserState,
    id: UserId,
    offset: i64,
    encoder: Encoder,
}

impl User {
    /// Handles `payload`; `true` when accepted.
    fn run(&mut self, payload: CommandPayload) -> bool {
        self.offset += 1;
        let at = Utc.timestamp_opt(1_700_000_000 + self.offset, 0).single();
        let command = CommandEnvelope {
            command_id: uuid::Uuid::new_v4(),
            user_id: self.id.clone(),
            occurred_at: at.expect("valid"),
            received_at: at.expect("valid"),
            app_id: Some("a".repeat(64)),
            device_id: Some(DeviceId::parse(&"d".repeat(MAX_LOCAL_ID_LEN)).expect("valid")),
            device_name: Some(Name::parse(&wide(MAX_NAME_CHARS)).expect("valid")),
            reply_to: Some(format!("ingest-{}:{}", "r".repeat(64), i32::MAX)),
            payload,
        };
        let handled = handle(&mut self.state, &command, 0, self.offset);
        self.encoder.all(&command, &handled);
        handled.result.rejection_code.is_none()
    }

    /// Runs `payload(n)` for n = 0, 1, … until it is refused; the number accepted.
    fn fill(&mut self, payload: impl Fn(u32) -> CommandPayload) -> u32 {
        let mut n = 0;
        while self.run(payload(n)) {
            n += 1;
            assert!(n < 100_000, "a limit must stop it");
        }
        n
    }
}

#[test]
fn every_record_of_a_user_filled_to_every_limit_fits_a_broker_record() {
    let mut user = User {
        state: UserState::default(),
        id: UserId::parse(&"u".repeat(MAX_USER_ID_LEN)).expect("largest user id"),
        offset: 0,
        encoder: Encoder::new(),
    };
    let source = SourceId::parse(&"s".repeat(MAX_SOURCE_ID_LEN)).expect("largest");
    // Subscriptions until the default collection (which holds them all) is full in bytes.
    let feeds = user.fill(|n| CommandPayload::Subscribe {
        feed: feed(n),
        source_id: Some(source.clone()),
    });
    let default = &user.state.collections["default"];
    assert!(
        default.bytes() + MAX_FEED_URL_LEN > MAX_LIST_BYTES,
        "{feeds} feeds"
    );

    let seconds = Seconds::parse(MAX_SECONDS).expect("largest");
    for n in 0..3 {
        assert!(user.run(CommandPayload::RecordPlay {
            feed: feed(0),
            item: item(n),
            position: seconds,
            duration: Some(seconds),
            played: true,
        }));
        assert!(user.run(CommandPayload::ChangePrivacy {
            scope: Scope::Item(item(n)),
            privacy: Privacy::Anonymous,
        }));
    }

    let name = Name::parse(&wide(MAX_NAME_CHARS)).expect("largest name");
    let description = Description::parse(&wide(MAX_DESCRIPTION_CHARS)).expect("largest");
    let playlist = longest_id('p');
    assert!(user.run(CommandPayload::CreatePlaylist {
        playlist_id: playlist.clone(),
        name: name.clone(),
        description: Some(description),
        public: true,
    }));
    let items = user.fill(|n| CommandPayload::AddPlaylistItem {
        playlist_id: playlist.clone(),
        feed: feed(0),
        item: item(n),
    });
    assert!(items > 100, "{items} items");
    // The largest command and event: a playlist's whole order.
    let reversed: Vec<ItemId> = (0..items).rev().map(item).collect();
    assert!(user.run(CommandPayload::ReorderPlaylist {
        playlist_id: playlist.clone(),
        items: reversed,
    }));
    // The largest playlist record: its items full again, beside every removal it remembers.
    for n in 0..40 {
        assert!(user.run(CommandPayload::RemovePlaylistItem {
            playlist_id: playlist.clone(),
            item: item(n),
        }));
    }
    let removed = &user.state.playlists[playlist.as_str()].removed;
    let removed_bytes: usize = (removed.keys())
        .map(|i| i.guid().len() + i.enclosure_url().len())
        .sum();
    assert!(removed_bytes + MAX_GUID_LEN + MAX_FEED_URL_LEN > MAX_REMOVED_BYTES);
    user.fill(|n| CommandPayload::AddPlaylistItem {
        playlist_id: playlist.clone(),
        feed: feed(0),
        item: item(1_000 + n),
    });
    assert!(
        user.encoder.largest > MAX_LIST_BYTES + MAX_REMOVED_BYTES - MAX_FEED_URL_LEN * 2,
        "{} bytes",
        user.encoder.largest
    );
    // A deleted playlist is kept as a record, its name and description with it.
    assert!(user.run(CommandPayload::DeletePlaylist {
        playlist_id: playlist,
    }));

    let collection = longest_id('c');
    assert!(user.run(CommandPayload::CreateCollection {
        collection_id: collection.clone(),
        title: name.clone(),
        public: true,
    }));
    let in_collection = user.fill(|n| CommandPayload::AddCollectionFeed {
        collection_id: collection.clone(),
        feed: feed(n),
    });
    assert_eq!(
        in_collection, feeds,
        "every subscribed feed, then a refusal"
    );

    assert!(user.run(CommandPayload::UpsertDevice {
        device_id: DeviceId::parse(&"d".repeat(MAX_LOCAL_ID_LEN)).expect("valid"),
        caption: Some(name),
        kind: Some(DeviceKind::parse("mobile").expect("valid")),
    }));
    assert!(user.run(CommandPayload::RemoveEvents {
        scope: Scope::Item(item(0)),
    }));
    println!(
        "largest record: {} bytes (of {BROKER_MAX})",
        user.encoder.largest
    );
    assert!(
        user.encoder.largest > MAX_LIST_BYTES,
        "the lists were filled"
    );
}
