//! Arbitrary syncs on the same few ids as the other commands, their times around the tests'
//! clock (`at(0)` is the time of a command sent at 0).

use super::{feed, item, local, name, secs};
use balados_schemas::{CommandPayload, SyncPlay, SyncPlaylist, SyncPlaylistItem, SyncSubscription};
use chrono::{DateTime, Utc};
use proptest::prelude::*;

pub fn at(s: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + s, 0).expect("in range")
}

pub fn arb_sync_subscription() -> impl Strategy<Value = SyncSubscription> {
    let time = proptest::option::of(0i64..100);
    (0u32..3, time.clone(), time).prop_map(|(f, s, u)| SyncSubscription {
        feed: feed(f),
        subscribed_at: s.map(at),
        unsubscribed_at: u.map(at),
    })
}

/// A status of one of 3 episodes (each always in its own feed), with a known duration, its
/// position sometimes beyond it.
pub fn arb_sync_play() -> impl Strategy<Value = SyncPlay> {
    (0u32..3, 0i64..700, any::<bool>(), 0i64..100, 0u8..5).prop_map(|(b, n, played, t, r)| {
        SyncPlay {
            feed: feed(b),
            item: item(b),
            position: secs(n),
            duration: Some(secs(600)),
            played,
            updated_at: at(t),
            reset: r == 0,
        }
    })
}

pub fn arb_sync_playlist() -> impl Strategy<Value = SyncPlaylist> {
    let items =
        proptest::collection::vec((0u32..3, 0i64..100, proptest::option::of(0i64..100)), 0..4);
    let deleted = proptest::option::weighted(0.25, 0i64..100);
    (0u32..3, any::<bool>(), 0i64..100, deleted, items).prop_map(|(p, flag, t, d, items)| {
        SyncPlaylist {
            playlist_id: local(&format!("p{p}")),
            name: name(if flag { "Mix" } else { "Mix 2" }),
            updated_at: at(t),
            deleted_at: d.map(at),
            items: items
                .into_iter()
                .map(|(b, added, removed)| SyncPlaylistItem {
                    feed: feed(b),
                    item: item(b),
                    added_at: at(added),
                    removed_at: removed.map(at),
                })
                .collect(),
        }
    })
}

pub fn arb_sync() -> impl Strategy<Value = CommandPayload> {
    (
        proptest::option::of(0i64..100),
        proptest::collection::vec(arb_sync_subscription(), 0..4),
        proptest::collection::vec(arb_sync_play(), 0..4),
        proptest::collection::vec(arb_sync_playlist(), 0..3),
    )
        .prop_map(
            |(last, subscriptions, plays, playlists)| CommandPayload::Sync {
                last_sync: last.map(|s| at(s).timestamp()),
                subscriptions,
                plays,
                playlists,
            },
        )
}
