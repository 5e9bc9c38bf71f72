//! The largest sync the ingest lets through (every count at its bound, the bytes near theirs,
//! every optional field set) encodes under the broker's 1,000,000-byte record.

use apache_avro::Schema;
use balados_schemas::sync::{
    MAX_SYNC_BYTES, MAX_SYNC_PLAYLIST_ITEMS, MAX_SYNC_PLAYLISTS, MAX_SYNC_PLAYS,
    MAX_SYNC_SUBSCRIPTIONS, check,
};
use balados_schemas::{
    CommandEnvelope, CommandPayload, Contract, DeviceId, FeedUrl, ItemId, LocalId, Name, Seconds,
    SyncPlay, SyncPlaylist, SyncPlaylistItem, SyncSubscription, UserId,
};
use chrono::{DateTime, Utc};

/// A valid URL of exactly `len` bytes, unique per `n`.
fn url(n: usize, len: usize) -> String {
    let head = format!("https://e.com/{n:06}/");
    format!("{head}{}", "a".repeat(len - head.len()))
}

fn feed(n: usize, len: usize) -> FeedUrl {
    FeedUrl::parse(&url(n, len)).expect("valid")
}

fn item(n: usize, len: usize) -> ItemId {
    ItemId::new(&format!("{n:08}"), &url(n, len)).expect("valid")
}

#[test]
fn the_largest_sync_fits_one_record() {
    let now = DateTime::<Utc>::from_timestamp(4_000_000_000, 0).expect("in range");
    let subscriptions: Vec<_> = (0..MAX_SYNC_SUBSCRIPTIONS)
        .map(|n| SyncSubscription {
            feed: feed(n, 60),
            subscribed_at: Some(now),
            unsubscribed_at: Some(now),
        })
        .collect();
    let plays: Vec<_> = (0..MAX_SYNC_PLAYS)
        .map(|n| SyncPlay {
            feed: feed(n, 30),
            item: item(n, 50),
            position: Seconds::clamped(u64::MAX),
            duration: Some(Seconds::clamped(u64::MAX)),
            played: true,
            updated_at: now,
            reset: true,
        })
        .collect();
    let per_list = MAX_SYNC_PLAYLIST_ITEMS / MAX_SYNC_PLAYLISTS;
    let playlists: Vec<_> = (0..MAX_SYNC_PLAYLISTS)
        .map(|p| SyncPlaylist {
            playlist_id: LocalId::parse(&format!("p{p:03}")).expect("valid"),
            name: Name::parse(&format!("list {p:03}")).expect("valid"),
            updated_at: now,
            deleted_at: Some(now),
            items: (0..per_list)
                .map(|n| SyncPlaylistItem {
                    feed: feed(n, 30),
                    item: item(p * per_list + n, 42),
                    added_at: now,
                    removed_at: Some(now),
                })
                .collect(),
        })
        .collect();
    check(&subscriptions, &plays, &playlists).expect("within every bound");
    let bytes: usize = 5_000 * 60 + 2_000 * (30 + 8 + 50) + 2_000 * (30 + 8 + 42) + 200 * 12;
    assert!(
        bytes > MAX_SYNC_BYTES - 20_000,
        "near the byte bound: {bytes}"
    );
    let command = CommandEnvelope {
        command_id: uuid::Uuid::new_v4(),
        user_id: UserId::parse(&"u".repeat(128)).expect("valid"),
        occurred_at: now,
        received_at: now,
        app_id: Some("a".repeat(200)),
        device_id: Some(DeviceId::parse(&"d".repeat(64)).expect("valid")),
        device_name: Some(Name::parse(&"n".repeat(200)).expect("valid")),
        reply_to: Some("r".repeat(200)),
        payload: CommandPayload::Sync {
            last_sync: Some(i64::MAX),
            subscriptions,
            plays,
            playlists,
        },
    };
    let schema = Schema::parse_str(Contract::Command.schema_text()).expect("parses");
    let datum = balados_schemas::codec::write_datum(&schema, command.to_avro()).expect("encodes");
    assert!(datum.len() < 990_000, "{} bytes", datum.len());
}
