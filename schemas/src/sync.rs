//! The records of a bulk `Sync` command: what a client holds of its subscriptions, play statuses
//! and playlists, each with the client's own times. The aggregate merges them with the user's
//! state (docs/architecture.md §11). The bounds on their number and bytes keep the command one
//! record under the broker's 1 MB (docs/limits.md); the ingest checks them before producing
//! ([`check`]).

use crate::avro::ShapeError;
use crate::declare::avro_record;
use crate::fields::{LocalId, Name, Seconds};
use crate::ids::{FeedUrl, ItemId};
use crate::mapping::AvroField;
use apache_avro::types::Value;
use chrono::{DateTime, Utc};

/// Subscriptions one sync may carry (a user's own limit).
pub const MAX_SYNC_SUBSCRIPTIONS: usize = 5_000;
/// Play statuses one sync may carry; more are sent in several syncs.
pub const MAX_SYNC_PLAYS: usize = 2_000;
/// Playlists one sync may carry (a user's own limit).
pub const MAX_SYNC_PLAYLISTS: usize = 200;
/// Items of all playlists of one sync.
pub const MAX_SYNC_PLAYLIST_ITEMS: usize = 2_000;
/// Bytes of the URLs, GUIDs and names of one sync: with the fixed fields (at most 25 bytes an
/// entry) and the envelope, the command stays under 1 MB (`tests/sync_size.rs` encodes the
/// largest).
pub const MAX_SYNC_BYTES: usize = 640 * 1024;

/// Declares the record as an array item of the command (its value is the record itself).
macro_rules! array_item {
    ($($record:ident),+) => {$(
        impl AvroField for $record {
            fn to_value(&self) -> Value {
                self.to_avro()
            }

            fn from_value(value: Value, _: &str) -> Result<Self, ShapeError> {
                Self::from_avro(value)
            }
        }
    )+};
}

avro_record! {
    /// A feed as the client holds it: the later of its two times says whether it follows it.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct SyncSubscription {
        pub feed: FeedUrl,
        pub subscribed_at: Option<DateTime<Utc>>,
        pub unsubscribed_at: Option<DateTime<Utc>>,
    }
}

avro_record! {
    /// An episode's play status as the client holds it; `reset` is an explicit "mark unplayed".
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct SyncPlay {
        pub feed: FeedUrl,
        pub item: ItemId,
        pub position: Seconds,
        pub duration: Option<Seconds>,
        pub played: bool,
        pub updated_at: DateTime<Utc>,
        pub reset: bool,
    }
}

avro_record! {
    /// An episode of a client's playlist; `removed_at` is a tombstone with its time.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct SyncPlaylistItem {
        pub feed: FeedUrl,
        pub item: ItemId,
        pub added_at: DateTime<Utc>,
        pub removed_at: Option<DateTime<Utc>>,
    }
}

avro_record! {
    /// A client's playlist; `deleted_at` is a tombstone with its time.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct SyncPlaylist {
        pub playlist_id: LocalId,
        pub name: Name,
        pub updated_at: DateTime<Utc>,
        pub deleted_at: Option<DateTime<Utc>>,
        pub items: Vec<SyncPlaylistItem>,
    }
}

array_item!(SyncSubscription, SyncPlay, SyncPlaylistItem, SyncPlaylist);

/// Which bound a sync breaks: its stable code and what to say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncTooLarge {
    pub what: &'static str,
    pub max: usize,
}

/// Checks the bounds of one sync (counts, then bytes).
pub fn check(
    subscriptions: &[SyncSubscription],
    plays: &[SyncPlay],
    playlists: &[SyncPlaylist],
) -> Result<(), SyncTooLarge> {
    let items: usize = playlists.iter().map(|p| p.items.len()).sum();
    for (count, what, max) in [
        (subscriptions.len(), "subscriptions", MAX_SYNC_SUBSCRIPTIONS),
        (plays.len(), "play statuses", MAX_SYNC_PLAYS),
        (playlists.len(), "playlists", MAX_SYNC_PLAYLISTS),
        (items, "playlist items", MAX_SYNC_PLAYLIST_ITEMS),
    ] {
        if count > max {
            return Err(SyncTooLarge { what, max });
        }
    }
    let episode = |item: &ItemId| item.guid().len() + item.enclosure_url().len();
    let bytes = subscriptions
        .iter()
        .map(|s| s.feed.as_str().len())
        .sum::<usize>()
        + plays
            .iter()
            .map(|p| p.feed.as_str().len() + episode(&p.item))
            .sum::<usize>()
        + playlists
            .iter()
            .flat_map(|p| {
                let own = p.playlist_id.as_str().len() + p.name.as_str().len();
                let items = p
                    .items
                    .iter()
                    .map(|i| i.feed.as_str().len() + episode(&i.item));
                std::iter::once(own).chain(items)
            })
            .sum::<usize>();
    if bytes > MAX_SYNC_BYTES {
        return Err(SyncTooLarge {
            what: "bytes of URLs, GUIDs and names",
            max: MAX_SYNC_BYTES,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed() -> FeedUrl {
        FeedUrl::parse("https://example.com/feed.xml").expect("valid")
    }

    fn play(n: usize) -> SyncPlay {
        SyncPlay {
            feed: feed(),
            item: ItemId::new(&format!("g{n}"), "https://cdn.example.com/a.mp3").expect("valid"),
            position: Seconds::clamped(1),
            duration: None,
            played: false,
            updated_at: DateTime::UNIX_EPOCH,
            reset: false,
        }
    }

    #[test]
    fn a_sync_over_a_count_or_the_bytes_is_refused_with_what_it_breaks() {
        let plays: Vec<_> = (0..MAX_SYNC_PLAYS).map(play).collect();
        assert_eq!(check(&[], &plays, &[]), Ok(()));
        let more: Vec<_> = (0..=MAX_SYNC_PLAYS).map(play).collect();
        let refused = check(&[], &more, &[]).expect_err("too many");
        assert_eq!(refused.max, MAX_SYNC_PLAYS);

        let long = format!("https://example.com/{}", "a".repeat(1_300));
        let feed = FeedUrl::parse(&long).expect("valid");
        let subscriptions: Vec<_> = (0..MAX_SYNC_SUBSCRIPTIONS)
            .map(|_| SyncSubscription {
                feed: feed.clone(),
                subscribed_at: None,
                unsubscribed_at: None,
            })
            .collect();
        let refused = check(&subscriptions, &[], &[]).expect_err("too many bytes");
        assert_eq!(refused.max, MAX_SYNC_BYTES);
    }

    #[test]
    fn the_records_round_trip_as_array_items() {
        let value = play(1).to_value();
        assert_eq!(SyncPlay::from_value(value, "plays").ok(), Some(play(1)));
        assert_eq!(SyncPlay::avro_fields().len(), 8);
        assert_eq!(SyncSubscription::avro_fields().len(), 3);
        assert_eq!(SyncPlaylist::avro_fields().len(), 5);
        assert_eq!(SyncPlaylistItem::avro_fields().len(), 5);
    }
}
