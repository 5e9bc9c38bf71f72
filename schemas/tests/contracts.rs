//! The `.avsc` files are the contract: every current schema must read data written with every
//! released version (`avro/history/<name>.v<N>.avsc`), i.e. be BACKWARD_TRANSITIVE-compatible, and
//! every typed value must round-trip through its schema.

use apache_avro::Schema;
use apache_avro::schema_compatibility::SchemaCompatibility;
use balados_schemas::state::{PlaylistItemState, RemovedPlaylistItemState};
use balados_schemas::{
    CommandEnvelope, CommandPayload, CommandResult, Contract, Description, DeviceId, DeviceKind,
    EventEnvelope, EventPayload, FeedUrl, ItemId, LocalId, Name, Privacy, PublicEvent,
    RecentCommand, Scope, Seconds, SourceId, StateEntity, SyncPlay, SyncPlaylist, SyncPlaylistItem,
    SyncSubscription, UserId, UserStateRecord,
};
use chrono::{TimeZone as _, Utc};
use std::path::Path;
use uuid::Uuid;

fn avro_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/avro"))
}

/// Released versions of `name`, oldest first.
fn history(name: &str) -> Vec<(u32, Schema)> {
    let mut versions = Vec::new();
    for entry in std::fs::read_dir(avro_dir().join("history")).expect("history dir") {
        let path = entry.expect("entry").path();
        let file = path
            .file_name()
            .and_then(|f| f.to_str())
            .expect("utf-8 name")
            .to_owned();
        let Some(rest) = file.strip_prefix(&format!("{name}.v")) else {
            continue;
        };
        let Some(version) = rest
            .strip_suffix(".avsc")
            .and_then(|v| v.parse::<u32>().ok())
        else {
            continue;
        };
        let text = std::fs::read_to_string(&path).expect("readable");
        versions.push((
            version,
            Schema::parse_str(&text).unwrap_or_else(|e| panic!("{file}: {e}")),
        ));
    }
    versions.sort_by_key(|(v, _)| *v);
    versions
}

#[test]
fn every_schema_is_backward_transitive_compatible_with_its_released_versions() {
    let mut checked = 0;
    for entry in std::fs::read_dir(avro_dir()).expect("avro dir") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("avsc") {
            continue;
        }
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("name")
            .to_owned();
        let current =
            Schema::parse_str(&std::fs::read_to_string(&path).expect("readable")).expect("parses");
        let released = history(&name);
        assert!(
            !released.is_empty(),
            "{name}.avsc has no released version in avro/history/"
        );
        for (version, old) in &released {
            SchemaCompatibility::can_read(old, &current).unwrap_or_else(|e| {
                panic!("{name}.avsc cannot read data written with v{version}: {e}")
            });
            checked += 1;
        }
    }
    assert!(
        checked >= Contract::ALL.len(),
        "checked only {checked} schema pairs"
    );
}

#[test]
fn an_incompatible_change_is_detected() {
    // Guards the test above against passing vacuously: a field added without a default breaks
    // BACKWARD compatibility and must be reported.
    let (_, old) = history("command-result").pop().expect("released");
    let text = Contract::CommandResult.schema_text().replacen(
        "\"fields\": [",
        "\"fields\": [{\"name\": \"added_without_default\", \"type\": \"string\"},",
        1,
    );
    let broken = Schema::parse_str(&text).expect("parses");
    assert!(SchemaCompatibility::can_read(&old, &broken).is_err());
}

/// Encodes with apache-avro's validating writer and with our encoder (which must produce the same
/// bytes), then decodes.
fn round_trip(contract: Contract, value: apache_avro::types::Value) -> apache_avro::types::Value {
    let schema = Schema::parse_str(contract.schema_text()).expect("parses");
    let resolved = apache_avro::schema::ResolvedSchema::try_from(&schema).expect("resolves");
    let mut ours = Vec::new();
    balados_schemas::binary::encode(&value, &schema, resolved.get_names(), &mut ours)
        .expect("our encoder encodes");
    let datum = balados_schemas::codec::write_datum(&schema, value).expect("encodes");
    assert_eq!(
        ours, datum,
        "{contract:?}: our encoding differs from apache-avro's"
    );
    balados_schemas::codec::read_datum(&schema, None, &mut datum.as_slice()).expect("decodes")
}

fn at(ms: i64) -> chrono::DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().expect("in range")
}

#[test]
fn typed_values_round_trip_through_their_schemas() {
    let user = UserId::parse("user-1").expect("valid");
    let feed = FeedUrl::parse("https://example.com/feed.xml").expect("valid");
    let command = CommandEnvelope {
        command_id: Uuid::new_v4(),
        user_id: user.clone(),
        occurred_at: at(1_700_000_000_000),
        received_at: at(1_700_000_000_500),
        app_id: Some("app".into()),
        device_id: None,
        device_name: Some(name("phone")),
        reply_to: Some("ingest-1".into()),
        payload: CommandPayload::Subscribe {
            feed: feed.clone(),
            source_id: Some(SourceId::parse("src").expect("valid")),
        },
    };
    for payload in every_command(&feed) {
        let command = CommandEnvelope {
            payload,
            ..command.clone()
        };
        assert_eq!(
            CommandEnvelope::from_avro(round_trip(Contract::Command, command.to_avro()))
                .expect("typed"),
            command
        );
    }

    let event = EventEnvelope {
        sync_position: 0,
        event_id: Uuid::new_v4(),
        command_id: command.command_id,
        user_id: user.clone(),
        sequence: 7,
        occurred_at: at(1),
        recorded_at: at(2),
        app_id: None,
        device_id: Some("d".into()),
        device_name: None,
        payload: EventPayload::Unsubscribed {
            feed: feed.clone(),
            unsubscribed_at: at(3),
        },
    };
    for payload in every_event(&feed) {
        let event = EventEnvelope {
            payload,
            ..event.clone()
        };
        assert_eq!(
            EventEnvelope::from_avro(round_trip(Contract::Event, event.to_avro())).expect("typed"),
            event
        );
    }

    for entity in [
        StateEntity::Meta {
            sync_position: 0,
            sequence: 9,
            recent_commands: vec![RecentCommand {
                command_id: Uuid::new_v4(),
                rejection_code: Some("not_found".into()),
                first_sequence: 0,
                event_count: 0,
            }],
            events_offset: Some(41),
            deleted: true,
        },
        StateEntity::Subscription {
            sync_position: 0,
            feed: feed.clone(),
            source_id: None,
            subscribed_at: Some(at(5)),
            unsubscribed_at: None,
        },
        StateEntity::Episode {
            sync_position: 0,
            feed: feed.clone(),
            item: item(),
            updated_at: Some(at(6)),
            position: 120,
            duration: Some(3600),
            played: false,
            saved_at: None,
        },
        StateEntity::Playlist {
            playlist_id: "p1".into(),
            name: "Road".into(),
            description: None,
            public: true,
            items: vec![PlaylistItemState {
                feed: feed.clone(),
                item: item(),
                added_at: Some(at(7)),
            }],
            changed_at: Some(at(6)),
            deleted_at: None,
            removed_items: vec![RemovedPlaylistItemState {
                item: item(),
                removed_at: at(5),
            }],
            removals_kept: true,
            removals_kept_after: Some(at(4)),
        },
        StateEntity::Collection {
            collection_id: "default".into(),
            title: "All".into(),
            is_default: true,
            public: false,
            feeds: vec![feed.clone()],
        },
        StateEntity::Privacy {
            scope: Scope::Item(item()),
            privacy: Privacy::Anonymous,
        },
        StateEntity::Device {
            device_id: "phone".into(),
            caption: Some("My phone".into()),
            kind: None,
        },
    ] {
        let record = UserStateRecord {
            user_id: user.clone(),
            source_offset: 42,
            entity,
        };
        let back = UserStateRecord::from_avro(round_trip(Contract::UserState, record.to_avro()))
            .expect("typed");
        assert_eq!(back, record);
    }

    let result = CommandResult {
        command_id: Uuid::new_v4(),
        user_id: user,
        rejection_code: None,
        message: None,
        duplicate: true,
        first_sequence: 3,
        event_count: 1,
        events_partition: 2,
        events_next_offset: 17,
        clamped: true,
    };
    assert_eq!(
        CommandResult::from_avro(round_trip(Contract::CommandResult, result.to_avro()))
            .expect("typed"),
        result
    );

    for user_id in [Some("ada".to_owned()), None] {
        let public = PublicEvent {
            event_id: Uuid::new_v4(),
            event_type: "play".to_owned(),
            user_id,
            feed_url: "https://e.com/f.xml".to_owned(),
            guid: Some("g".to_owned()),
            enclosure_url: Some("https://e.com/1.mp3".to_owned()),
            occurred_at: at(1_764_000_000_000),
        };
        assert_eq!(
            PublicEvent::from_avro(round_trip(Contract::PublicEvent, public.to_avro()))
                .expect("typed"),
            public
        );
    }
}

fn item() -> ItemId {
    ItemId::new("guid-1", "https://cdn.example.com/1.mp3").expect("valid")
}

/// One value of every command type: a branch index that does not match `command.avsc` fails to
/// encode or decodes as another type.
fn every_command(feed: &FeedUrl) -> Vec<CommandPayload> {
    let (f, pl, co) = (feed.clone(), local("p1"), local("c1"));
    vec![
        CommandPayload::Subscribe {
            feed: f.clone(),
            source_id: Some(SourceId::parse("src").expect("valid")),
        },
        CommandPayload::Unsubscribe { feed: f.clone() },
        CommandPayload::RecordPlay {
            feed: f.clone(),
            item: item(),
            position: secs(30),
            duration: Some(secs(60)),
            played: true,
        },
        CommandPayload::UpdatePosition {
            item: item(),
            position: secs(31),
        },
        CommandPayload::SaveEpisode {
            feed: f.clone(),
            item: item(),
        },
        CommandPayload::UnsaveEpisode { item: item() },
        CommandPayload::ShareEpisode {
            feed: f.clone(),
            item: item(),
        },
        CommandPayload::ChangePrivacy {
            scope: Scope::Feed(f.clone()),
            privacy: Privacy::Anonymous,
        },
        CommandPayload::RemoveEvents {
            scope: Scope::Item(item()),
        },
        CommandPayload::CreatePlaylist {
            playlist_id: pl.clone(),
            name: name("n"),
            description: Some(Description::parse("d").expect("valid")),
            public: true,
        },
        CommandPayload::UpdatePlaylist {
            playlist_id: pl.clone(),
            name: None,
            description: Some(Description::parse("d2").expect("valid")),
            public: Some(false),
        },
        CommandPayload::DeletePlaylist {
            playlist_id: pl.clone(),
        },
        CommandPayload::AddPlaylistItem {
            playlist_id: pl.clone(),
            feed: f.clone(),
            item: item(),
        },
        CommandPayload::RemovePlaylistItem {
            playlist_id: pl.clone(),
            item: item(),
        },
        CommandPayload::ReorderPlaylist {
            playlist_id: pl,
            items: vec![item(), item()],
        },
        CommandPayload::CreateCollection {
            collection_id: co.clone(),
            title: name("t"),
            public: false,
        },
        CommandPayload::UpdateCollection {
            collection_id: co.clone(),
            title: Some(name("t2")),
            public: None,
        },
        CommandPayload::DeleteCollection {
            collection_id: co.clone(),
        },
        CommandPayload::AddCollectionFeed {
            collection_id: co.clone(),
            feed: f.clone(),
        },
        CommandPayload::RemoveCollectionFeed {
            collection_id: co.clone(),
            feed: f.clone(),
        },
        CommandPayload::MoveCollectionFeed {
            collection_id: co,
            feed: f,
            position: 2,
        },
        CommandPayload::UpsertDevice {
            device_id: DeviceId::parse("d1").expect("valid"),
            caption: Some(name("Phone")),
            kind: Some(DeviceKind::parse("mobile").expect("valid")),
        },
        CommandPayload::DeleteAccount {},
        CommandPayload::Sync {
            last_sync: Some(1_764_000_000),
            subscriptions: vec![SyncSubscription {
                feed: feed.clone(),
                subscribed_at: Some(chrono::DateTime::UNIX_EPOCH),
                unsubscribed_at: None,
            }],
            plays: vec![SyncPlay {
                feed: feed.clone(),
                item: item(),
                position: secs(3),
                duration: None,
                played: false,
                updated_at: chrono::DateTime::UNIX_EPOCH,
                reset: true,
            }],
            playlists: vec![SyncPlaylist {
                playlist_id: local("p2"),
                name: name("Later"),
                updated_at: chrono::DateTime::UNIX_EPOCH,
                deleted_at: None,
                items: vec![SyncPlaylistItem {
                    feed: feed.clone(),
                    item: item(),
                    added_at: chrono::DateTime::UNIX_EPOCH,
                    removed_at: Some(chrono::DateTime::UNIX_EPOCH),
                }],
            }],
        },
    ]
}

fn local(raw: &str) -> LocalId {
    LocalId::parse(raw).expect("valid id")
}

fn name(raw: &str) -> Name {
    Name::parse(raw).expect("valid name")
}

fn secs(raw: i64) -> Seconds {
    Seconds::parse(raw).expect("valid seconds")
}

fn every_event(feed: &FeedUrl) -> Vec<EventPayload> {
    let (f, pl, co) = (feed.clone(), "p1".to_owned(), "c1".to_owned());
    vec![
        EventPayload::Subscribed {
            feed: f.clone(),
            source_id: None,
            subscribed_at: at(3),
        },
        EventPayload::Unsubscribed {
            feed: f.clone(),
            unsubscribed_at: at(3),
        },
        EventPayload::PlayRecorded {
            feed: f.clone(),
            item: item(),
            position: 5,
            duration: None,
            played: false,
        },
        EventPayload::PositionUpdated {
            feed: f.clone(),
            item: item(),
            position: 6,
        },
        EventPayload::EpisodeSaved {
            feed: f.clone(),
            item: item(),
        },
        EventPayload::EpisodeUnsaved {
            feed: f.clone(),
            item: item(),
        },
        EventPayload::EpisodeShared {
            feed: f.clone(),
            item: item(),
        },
        EventPayload::PrivacyChanged {
            scope: Scope::Global,
            privacy: Privacy::Private,
        },
        EventPayload::EventsRemoved {
            scope: Scope::Feed(f.clone()),
        },
        EventPayload::PlaylistCreated {
            playlist_id: pl.clone(),
            name: "n".into(),
            description: None,
            public: false,
        },
        EventPayload::PlaylistUpdated {
            playlist_id: pl.clone(),
            name: "n2".into(),
            description: Some("d".into()),
        },
        EventPayload::PlaylistVisibilityChanged {
            playlist_id: pl.clone(),
            public: true,
        },
        EventPayload::PlaylistDeleted {
            playlist_id: pl.clone(),
        },
        EventPayload::PlaylistItemAdded {
            playlist_id: pl.clone(),
            feed: f.clone(),
            item: item(),
        },
        EventPayload::PlaylistItemRemoved {
            playlist_id: pl.clone(),
            item: item(),
        },
        EventPayload::PlaylistReordered {
            playlist_id: pl,
            items: vec![item()],
        },
        EventPayload::CollectionCreated {
            collection_id: co.clone(),
            title: "t".into(),
            is_default: true,
            public: false,
        },
        EventPayload::CollectionUpdated {
            collection_id: co.clone(),
            title: "t2".into(),
        },
        EventPayload::CollectionVisibilityChanged {
            collection_id: co.clone(),
            public: true,
        },
        EventPayload::CollectionDeleted {
            collection_id: co.clone(),
        },
        EventPayload::CollectionFeedAdded {
            collection_id: co.clone(),
            feed: f.clone(),
        },
        EventPayload::CollectionFeedRemoved {
            collection_id: co.clone(),
            feed: f.clone(),
        },
        EventPayload::CollectionFeedMoved {
            collection_id: co,
            feed: f,
            position: 1,
        },
        EventPayload::DeviceUpserted {
            device_id: "d1".into(),
            caption: None,
            kind: Some("laptop".into()),
        },
        EventPayload::AccountDeleted {},
    ]
}
