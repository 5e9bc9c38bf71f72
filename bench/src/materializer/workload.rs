//! The event stream of the throughput benchmark: what the aggregator decides for a population of
//! podcast listeners. Plays and position updates dominate; every user starts by subscribing
//! (which creates the default collection), then subscribes to more feeds, saves, shares, now and
//! then changes a privacy setting, registers a device or fills a playlist. Every user's sequence
//! is contiguous from 1 and users are interleaved one command at a time, as a busy events topic
//! interleaves them.
//!
//! Every event kind the aggregator emits for these commands is there, including those the
//! materializer does not model yet, so the benchmark follows the materializer as it grows.
//! Deterministic (a fixed-seed generator): runs and versions compare.

use balados_schemas::{EventEnvelope, EventPayload, FeedUrl, ItemId, Privacy, Scope, UserId};
use chrono::{DateTime, Utc};
use std::collections::VecDeque;
use uuid::Uuid;

/// Feeds in the catalogue; listeners pick popular ones far more often (see [`Rng::popular`]).
const FEEDS: u64 = 5_000;
/// Episodes per feed a listener may play.
const EPISODES: u64 = 300;
/// Every episode lasts an hour here; positions advance by a few minutes per report.
const DURATION_SECS: u64 = 3_600;
/// Simulated time between two consecutive commands of the whole stream.
const STEP_MS: i64 = 50;

/// SplitMix64: enough randomness for a workload, and reproducible.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// An index below `n`, skewed towards 0 (cube of a uniform draw): a few feeds get most of the
    /// audience, as podcasts do — the popularity tables will see realistic hot keys.
    fn popular(&mut self, n: u64) -> u64 {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        ((u * u * u * n as f64) as u64).min(n - 1)
    }
}

/// What the generator remembers of one listener, to emit only what the aggregator would decide.
#[derive(Debug, Default, Clone)]
struct Listener {
    sequence: u64,
    feeds: Vec<u64>,
    /// The episode being listened to: (feed, episode, position).
    playing: Option<(u64, u64, u64)>,
    saved: Vec<(u64, u64)>,
    playlists: u32,
}

#[derive(Debug)]
pub struct Workload {
    rng: Rng,
    listeners: Vec<Listener>,
    next_user: usize,
    commands: u64,
    pending: VecDeque<EventEnvelope>,
    remaining: u64,
}

impl Workload {
    /// `events` events over `users` users.
    pub fn new(events: u64, users: u64) -> Self {
        Self {
            rng: Rng(0x00ba_1ad0_5bec_0001),
            listeners: vec![Listener::default(); usize::try_from(users.max(1)).unwrap_or(1)],
            next_user: 0,
            commands: 0,
            pending: VecDeque::new(),
            remaining: events,
        }
    }

    /// The events of the next command of the next user.
    fn next_command(&mut self) {
        let user = self.next_user;
        self.next_user = (self.next_user + 1) % self.listeners.len();
        let command_id = Uuid::from_u64_pair(0x00be_9c00_0000_0000, self.commands);
        let at = DateTime::from_timestamp_millis(
            1_767_225_600_000 + STEP_MS * i64::try_from(self.commands).unwrap_or(0),
        )
        .unwrap_or_default();
        self.commands += 1;
        let mut listener = std::mem::take(&mut self.listeners[user]);
        let payloads = decide(&mut self.rng, &mut listener, at);
        let user_id = UserId::parse(&format!("bench-listener-{user}")).expect("a valid user id");
        for (index, payload) in payloads.into_iter().enumerate() {
            listener.sequence += 1;
            self.pending.push_back(EventEnvelope {
                sync_position: 0,
                event_id: balados_schemas::event::event_id(
                    command_id,
                    u32::try_from(index).unwrap_or(0),
                ),
                command_id,
                user_id: user_id.clone(),
                sequence: listener.sequence,
                occurred_at: at,
                // The aggregator records an event a few milliseconds after the client sent it.
                recorded_at: at + chrono::Duration::milliseconds(40),
                app_id: Some("bench-app".into()),
                device_id: Some(format!("device-{}", user % 3)),
                device_name: None,
                payload,
            });
        }
        self.listeners[user] = listener;
    }
}

impl Iterator for Workload {
    type Item = EventEnvelope;

    fn next(&mut self) -> Option<EventEnvelope> {
        if self.remaining == 0 {
            return None;
        }
        while self.pending.is_empty() {
            self.next_command();
        }
        self.remaining -= 1;
        self.pending.pop_front()
    }
}

fn feed(n: u64) -> FeedUrl {
    FeedUrl::parse(&format!("https://bench.example.com/feeds/{n}.xml")).expect("a valid feed URL")
}

fn item(feed: u64, episode: u64) -> ItemId {
    ItemId::new(
        &format!("urn:bench:{feed}:{episode}"),
        &format!("https://cdn.bench.example.com/{feed}/{episode}.mp3"),
    )
    .expect("a valid item")
}

/// The events of one command of `l`, chosen by weight (per thousand commands).
fn decide(rng: &mut Rng, l: &mut Listener, at: DateTime<Utc>) -> Vec<EventPayload> {
    if l.feeds.is_empty() {
        return subscribe(rng, l, at);
    }
    match rng.below(1_000) {
        0..520 => play(rng, l),
        520..740 => match l.playing {
            Some((f, e, position)) => {
                let position = (position + 30 + rng.below(300)).min(DURATION_SECS);
                l.playing = Some((f, e, position));
                vec![EventPayload::PositionUpdated {
                    feed: feed(f),
                    item: item(f, e),
                    position,
                }]
            }
            None => play(rng, l),
        },
        740..800 => subscribe(rng, l, at),
        800..850 => {
            let (f, e) = l.playing.map_or((l.feeds[0], 0), |(f, e, _)| (f, e));
            l.saved.push((f, e));
            vec![EventPayload::EpisodeSaved {
                feed: feed(f),
                item: item(f, e),
            }]
        }
        850..880 => {
            let f = l.feeds[rng.below(l.feeds.len() as u64) as usize];
            let e = rng.below(EPISODES);
            vec![EventPayload::EpisodeShared {
                feed: feed(f),
                item: item(f, e),
            }]
        }
        880..890 => match l.saved.pop() {
            Some((f, e)) => vec![EventPayload::EpisodeUnsaved {
                feed: feed(f),
                item: item(f, e),
            }],
            None => play(rng, l),
        },
        890..900 if l.feeds.len() > 1 => {
            let f = l
                .feeds
                .swap_remove(rng.below(l.feeds.len() as u64) as usize);
            vec![
                EventPayload::Unsubscribed {
                    feed: feed(f),
                    unsubscribed_at: at,
                },
                EventPayload::CollectionFeedRemoved {
                    collection_id: "default".into(),
                    feed: feed(f),
                },
            ]
        }
        890..920 => {
            let scope = match rng.below(3) {
                0 => Scope::Global,
                _ => Scope::Feed(feed(l.feeds[0])),
            };
            let privacy =
                [Privacy::Public, Privacy::Anonymous, Privacy::Private][rng.below(3) as usize];
            vec![EventPayload::PrivacyChanged { scope, privacy }]
        }
        920..950 => vec![EventPayload::DeviceUpserted {
            device_id: format!("device-{}", rng.below(3)),
            caption: Some("Phone".into()),
            kind: Some("mobile".into()),
        }],
        // A listener makes a playlist once in a while, then fills it.
        950..1000 if l.playlists == 0 && rng.below(4) == 0 => playlist_created(l),
        950..1000 if l.playlists > 0 => {
            let (f, e) = (l.feeds[0], rng.below(EPISODES));
            vec![EventPayload::PlaylistItemAdded {
                playlist_id: format!("pl-{}", rng.below(u64::from(l.playlists))),
                feed: feed(f),
                item: item(f, e),
            }]
        }
        _ => play(rng, l),
    }
}

/// A subscription to a feed not followed yet; the first creates the default collection.
fn subscribe(rng: &mut Rng, l: &mut Listener, at: DateTime<Utc>) -> Vec<EventPayload> {
    let mut f = rng.popular(FEEDS);
    while l.feeds.contains(&f) {
        f = rng.below(FEEDS);
    }
    let mut events = vec![EventPayload::Subscribed {
        feed: feed(f),
        source_id: None,
        subscribed_at: at,
    }];
    if l.feeds.is_empty() {
        events.push(EventPayload::CollectionCreated {
            collection_id: "default".into(),
            title: "All Subscriptions".into(),
            is_default: true,
            public: false,
        });
    }
    events.push(EventPayload::CollectionFeedAdded {
        collection_id: "default".into(),
        feed: feed(f),
    });
    l.feeds.push(f);
    events
}

/// A play report: mostly the episode in progress a little further, sometimes a new episode of a
/// followed feed.
fn play(rng: &mut Rng, l: &mut Listener) -> Vec<EventPayload> {
    let (f, e, position) = match l.playing {
        Some((f, e, position)) if position < DURATION_SECS && rng.below(10) < 7 => {
            (f, e, (position + 60 + rng.below(600)).min(DURATION_SECS))
        }
        _ => (
            l.feeds[rng.below(l.feeds.len() as u64) as usize],
            rng.below(EPISODES),
            rng.below(120),
        ),
    };
    l.playing = Some((f, e, position));
    vec![EventPayload::PlayRecorded {
        feed: feed(f),
        item: item(f, e),
        position,
        duration: Some(DURATION_SECS),
        played: position >= DURATION_SECS,
    }]
}

fn playlist_created(l: &mut Listener) -> Vec<EventPayload> {
    l.playlists += 1;
    vec![EventPayload::PlaylistCreated {
        playlist_id: format!("pl-{}", l.playlists - 1),
        name: format!("Queue {}", l.playlists),
        description: None,
        public: l.playlists.is_multiple_of(2),
    }]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn every_users_sequence_is_contiguous_from_one() {
        let mut last: HashMap<String, u64> = HashMap::new();
        let events: Vec<EventEnvelope> = Workload::new(20_000, 500).collect();
        assert_eq!(events.len(), 20_000);
        for e in &events {
            let previous = last.insert(e.user_id.as_str().to_owned(), e.sequence);
            assert_eq!(e.sequence, previous.unwrap_or(0) + 1, "{}", e.user_id);
        }
        assert_eq!(last.len(), 500);
    }

    #[test]
    fn plays_dominate_and_every_kind_of_the_mix_occurs() {
        let mut kinds: HashMap<&str, usize> = HashMap::new();
        for e in Workload::new(50_000, 1_000) {
            *kinds.entry(e.payload.kind()).or_default() += 1;
        }
        for kind in [
            "subscribed",
            "unsubscribed",
            "play_recorded",
            "position_updated",
            "episode_saved",
            "episode_unsaved",
            "episode_shared",
            "privacy_changed",
            "device_upserted",
            "collection_created",
            "collection_feed_added",
            "collection_feed_removed",
            "playlist_created",
            "playlist_item_added",
        ] {
            assert!(kinds.contains_key(kind), "{kind} missing: {kinds:?}");
        }
        assert!(kinds["play_recorded"] > 50_000 / 3, "{kinds:?}");
    }
}
