//! Properties over arbitrary streams of commands of every kind, on a few ids so that they meet.

use super::episodes::item;
use super::*;
use balados_schemas::{DeviceId, DeviceKind, Privacy, Scope};
use proptest::prelude::*;

/// Any command, its ids drawn from small sets (3 feeds, 3 episodes, 3 playlists, 3 collections
/// including the default one), its values within their types' bounds (the bounds themselves are
/// the types' own tests) and sometimes against the rules (positions beyond the duration).
pub(crate) fn arb_payload() -> impl Strategy<Value = CommandPayload> {
    (0u8..22, 0u32..3, 0u32..3, 0i64..700, any::<bool>()).prop_map(|(kind, a, b, n, flag)| {
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

fn unique<T: PartialEq>(items: &[T]) -> bool {
    items
        .iter()
        .enumerate()
        .all(|(i, x)| !items[..i].contains(x))
}

proptest! {
    /// Whatever the stream: decisions are deterministic, sequences contiguous from 1, and the
    /// aggregate's invariants hold after every command.
    #[test]
    fn any_stream_keeps_the_invariants(
        stream in proptest::collection::vec((arb_payload(), 0i64..100), 1..80)
    ) {
        let mut state = UserState::default();
        let mut sequence = 0;
        for (payload, at) in stream {
            let cmd = command(payload, at);
            prop_assert_eq!(decide(&state, &cmd), decide(&state, &cmd));
            if let Decision::Accepted(evs) = run(&mut state, &cmd) {
                for e in evs {
                    sequence += 1;
                    prop_assert_eq!(e.sequence, sequence);
                }
            }
            prop_assert_eq!(state.sequence, sequence);
            let defaults = state.collections.values().filter(|c| c.is_default).count();
            prop_assert!(defaults <= 1, "one default collection at most");
            if state.subscriptions.values().any(|s| s.subscribed_at.is_some()) {
                prop_assert_eq!(defaults, 1, "created with the first subscription, never deleted");
            }
            for c in state.collections.values() {
                prop_assert!(unique(&c.feeds));
                prop_assert!(c.feeds.iter().all(|f| state.is_subscribed(f)), "only subscribed feeds");
            }
            for p in state.playlists.values() {
                let items: Vec<_> = p.items.iter().map(|(_, i)| i).collect();
                prop_assert!(unique(&items));
                prop_assert!(!p.name.trim().is_empty());
            }
            for e in state.episodes.values() {
                prop_assert!(e.duration.is_none_or(|d| e.position <= d));
                prop_assert!(e.updated_at.is_some() || e.saved_at.is_some(), "nothing tracked for nothing");
            }
        }
    }
}
