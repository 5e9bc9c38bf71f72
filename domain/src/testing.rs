//! Values and generators for tests, here and in the crates around the domain (feature
//! `testing`): valid ids and names, and arbitrary commands of every kind on a few ids so that
//! they meet.

use crate::DEFAULT_COLLECTION_ID;
use balados_schemas::{
    CommandPayload, DeviceId, DeviceKind, EpisodeAction, FeedUrl, ItemId, LocalId, Name, Privacy,
    Scope, Seconds,
};
use proptest::prelude::*;

mod sync;
pub use sync::{arb_sync, arb_sync_play, arb_sync_playlist, arb_sync_subscription, at};

pub fn local(raw: &str) -> LocalId {
    LocalId::parse(raw).expect("valid id")
}

pub fn name(raw: &str) -> Name {
    Name::parse(raw).expect("valid name")
}

pub fn secs(raw: i64) -> Seconds {
    Seconds::parse(raw).expect("valid seconds")
}

pub fn feed(n: u32) -> FeedUrl {
    FeedUrl::parse(&format!("https://example.com/{n}.xml")).expect("valid")
}

pub fn item(n: u32) -> ItemId {
    ItemId::new(
        &format!("guid-{n}"),
        &format!("https://cdn.example.com/{n}.mp3"),
    )
    .expect("valid")
}

/// Any command, its ids drawn from small sets (3 feeds, 3 episodes, 3 playlists, 3 collections
/// including the default one), its values within their types' bounds (the bounds themselves are
/// the types' own tests) and sometimes against the rules (positions beyond the duration).
pub fn arb_payload() -> impl Strategy<Value = CommandPayload> {
    prop_oneof![12 => arb_single(), 1 => arb_sync()]
}

/// Any command but a sync.
fn arb_single() -> impl Strategy<Value = CommandPayload> {
    (0u8..26, 0u32..3, 0u32..3, 0i64..700, any::<bool>()).prop_map(|(kind, a, b, n, flag)| {
        let (f, i) = (feed(a), item(b));
        let playlist = local(&format!("p{b}"));
        let collection = if a == 0 {
            local(DEFAULT_COLLECTION_ID)
        } else {
            local(&format!("c{a}"))
        };
        match kind {
            0..=3 => CommandPayload::Subscribe {
                feed: f,
                source_id: None,
            },
            4 => CommandPayload::Unsubscribe { feed: f },
            5 => CommandPayload::RecordPlay {
                feed: f,
                item: i,
                position: secs(n),
                duration: flag.then(|| secs(600)),
                played: flag,
            },
            6 => CommandPayload::UpdatePosition {
                item: i,
                position: secs(n),
            },
            7 => CommandPayload::SaveEpisode { feed: f, item: i },
            8 => CommandPayload::UnsaveEpisode { item: i },
            9 => CommandPayload::ChangePrivacy {
                scope: if flag { Scope::Feed(f) } else { Scope::Item(i) },
                privacy: [Privacy::Public, Privacy::Anonymous, Privacy::Private]
                    [usize::try_from(n.rem_euclid(3)).unwrap_or(0)],
            },
            10 => CommandPayload::CreatePlaylist {
                playlist_id: playlist,
                name: name(if flag { "Mix" } else { "Mix 2" }),
                description: None,
                public: flag,
            },
            11 => CommandPayload::UpdatePlaylist {
                playlist_id: playlist,
                name: Some(name(&format!("Mix {n}"))),
                description: None,
                public: Some(flag),
            },
            12 => CommandPayload::DeletePlaylist {
                playlist_id: playlist,
            },
            13 => CommandPayload::AddPlaylistItem {
                playlist_id: playlist,
                feed: f,
                item: i,
            },
            14 => CommandPayload::RemovePlaylistItem {
                playlist_id: playlist,
                item: i,
            },
            15 => CommandPayload::ReorderPlaylist {
                playlist_id: playlist,
                items: if flag {
                    vec![item(2), item(1), item(0)]
                } else {
                    vec![i]
                },
            },
            16 => CommandPayload::CreateCollection {
                collection_id: collection,
                title: name("Shelf"),
                public: flag,
            },
            17 => CommandPayload::DeleteCollection {
                collection_id: collection,
            },
            18 => CommandPayload::AddCollectionFeed {
                collection_id: collection,
                feed: f,
            },
            19 => CommandPayload::RemoveCollectionFeed {
                collection_id: collection,
                feed: f,
            },
            20 => CommandPayload::MoveCollectionFeed {
                collection_id: collection,
                feed: f,
                position: n % 4,
            },
            // Rare, so that streams build up state between deletions.
            21 if n < 100 => CommandPayload::DeleteAccount {},
            // The same episodes as the REST commands', by GUID, by URL alone, or under a new URL.
            23 | 24 => CommandPayload::RecordEpisodeAction {
                feed: f,
                item: match n % 3 {
                    0 => i,
                    1 => ItemId::new(i.enclosure_url(), i.enclosure_url()).expect("valid"),
                    _ => ItemId::new(i.guid(), &format!("{}?moved", i.enclosure_url()))
                        .expect("valid"),
                },
                action: [
                    EpisodeAction::Play,
                    EpisodeAction::Play,
                    EpisodeAction::New,
                    EpisodeAction::Download,
                ][usize::try_from(n % 4).unwrap_or(0)],
                started: None,
                position: Some(secs(n)),
                total: flag.then(|| secs(600)),
            },
            // The gateway's listen, by GUID or under the URL alone.
            25 => CommandPayload::StartPlay {
                feed: f,
                item: if flag {
                    i
                } else {
                    ItemId::new(i.enclosure_url(), i.enclosure_url()).expect("valid")
                },
            },
            _ => CommandPayload::UpsertDevice {
                device_id: DeviceId::parse(&format!("d{a}")).expect("valid"),
                caption: flag.then(|| name(&format!("Device {b}"))),
                kind: Some(
                    DeviceKind::parse(
                        ["mobile", "desktop", "other"][usize::try_from(b).unwrap_or(0)],
                    )
                    .expect("valid"),
                ),
            },
        }
    })
}
