//! Property: the public projection does not depend on how the stream is cut into batches. A
//! stream of plays, saves, shares, subscriptions, privacy changes, removals and account deletions
//! folded in one
//! batch leaves the same public rows and popularity as the same stream folded in arbitrary
//! batches against the rows the earlier batches left (as the sink stores and loads them). Replays
//! and rebuilds rely on it.

use super::privacy::PrivacySettings;
use super::public::{CountKey, Counts, PublicRow};
use super::*;
use balados_schemas::{FeedUrl, ItemId, Privacy, Scope, UserId};
use chrono::{TimeZone as _, Utc};
use proptest::prelude::*;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
enum Step {
    Play(usize),
    Save(usize),
    Share(usize),
    Subscribe(usize),
    Privacy(usize, Privacy),
    Remove(usize),
    Delete,
}

fn feed(n: usize) -> FeedUrl {
    FeedUrl::parse(&format!("https://e.com/{}.xml", n % 2)).expect("valid")
}

/// Items 0..4; item n belongs to feed n % 2.
fn item(n: usize) -> ItemId {
    ItemId::new(&format!("g{n}"), &format!("https://e.com/{n}.mp3")).expect("valid")
}

/// Scopes 0: global, 1-2: a feed, 3-6: an item.
fn scope(n: usize) -> Scope {
    match n {
        0 => Scope::Global,
        1 | 2 => Scope::Feed(feed(n - 1)),
        _ => Scope::Item(item(n - 3)),
    }
}

fn step() -> impl Strategy<Value = Step> {
    let level = prop_oneof![
        Just(Privacy::Public),
        Just(Privacy::Anonymous),
        Just(Privacy::Private)
    ];
    prop_oneof![
        4 => (0..4usize).prop_map(Step::Play),
        1 => (0..4usize).prop_map(Step::Save),
        1 => (0..4usize).prop_map(Step::Share),
        1 => (0..2usize).prop_map(Step::Subscribe),
        2 => (0..7usize, level).prop_map(|(s, l)| Step::Privacy(s, l)),
        1 => (0..7usize).prop_map(Step::Remove),
        1 => Just(Step::Delete),
    ]
}

fn events(steps: &[(bool, Step)]) -> Vec<EventEnvelope> {
    let mut sequences = [0u64; 2];
    steps
        .iter()
        .enumerate()
        .map(|(i, (second_user, step))| {
            let user = usize::from(*second_user);
            sequences[user] += 1;
            // An hour apart: a stream of 40 crosses a day, where repeats count again.
            let seconds = i64::try_from(i).expect("small") * 3_600;
            let at = Utc
                .timestamp_opt(1_764_000_000 + seconds, 0)
                .single()
                .expect("valid");
            let payload = match step {
                Step::Play(n) => EventPayload::PlayRecorded {
                    feed: feed(*n),
                    item: item(*n),
                    position: 1,
                    duration: None,
                    played: false,
                },
                Step::Save(n) => EventPayload::EpisodeSaved {
                    feed: feed(*n),
                    item: item(*n),
                },
                Step::Share(n) => EventPayload::EpisodeShared {
                    feed: feed(*n),
                    item: item(*n),
                },
                Step::Subscribe(n) => EventPayload::Subscribed {
                    feed: feed(*n),
                    source_id: None,
                    subscribed_at: at,
                },
                Step::Privacy(s, level) => EventPayload::PrivacyChanged {
                    scope: scope(*s),
                    privacy: *level,
                },
                Step::Remove(s) => EventPayload::EventsRemoved { scope: scope(*s) },
                Step::Delete => EventPayload::AccountDeleted {},
            };
            let sequence = sequences[user];
            if let Step::Delete = step {
                // The user's next event starts again at 1.
                sequences[user] = 0;
            }
            EventEnvelope {
                sync_position: 0,
                event_id: uuid::Uuid::from_u128(i as u128 + 1),
                command_id: uuid::Uuid::nil(),
                user_id: UserId::parse(["a", "b"][user]).expect("valid"),
                sequence,
                occurred_at: at,
                recorded_at: at,
                app_id: None,
                device_id: None,
                device_name: None,
                payload,
            }
        })
        .collect()
}

/// The public tables as the sink leaves them.
#[derive(Debug, Default, PartialEq, Eq)]
struct Tables {
    rows: BTreeMap<uuid::Uuid, (String, PublicRow)>,
    podcasts: BTreeMap<String, Counts>,
    episodes: BTreeMap<String, Counts>,
    hours: BTreeMap<(String, chrono::DateTime<Utc>), Counts>,
    settings: HashMap<String, PrivacySettings>,
    positions: HashMap<String, Positions>,
    counted: HashSet<CountKey>,
}

fn add<K: Ord + Clone>(table: &mut BTreeMap<K, Counts>, key: K, delta: Counts) {
    let entry = table.entry(key.clone()).or_default();
    entry.score += delta.score;
    entry.plays += delta.plays;
    entry.likes += delta.likes;
    entry.subscribes += delta.subscribes;
    entry.shares += delta.shares;
    if entry.is_zero() {
        table.remove(&key);
    }
}

impl Tables {
    fn apply(&mut self, events: &[EventEnvelope]) {
        let needs = needs(events);
        let earlier = needs
            .revising
            .iter()
            .map(|user| {
                let rows = self
                    .rows
                    .values()
                    .filter(|(owner, _)| owner == user)
                    .map(|(_, row)| row.clone())
                    .collect();
                (user.clone(), rows)
            })
            .collect();
        let loaded = Loaded {
            positions: self.positions.clone(),
            privacy: self.settings.clone(),
            lists: Lists::default(),
            earlier,
            held: HashSet::new(),
            counted: needs
                .counting
                .iter()
                .filter(|k| self.counted.contains(*k))
                .cloned()
                .collect(),
        };
        let changes = fold(events, loaded, TimeDelta::hours(48), OnGap::Hold);
        let public = changes.public;
        for id in public.withdrawn.keys() {
            self.rows.remove(id);
        }
        for id in &public.anonymised {
            if let Some((_, row)) = self.rows.get_mut(id) {
                row.user_id = None;
            }
        }
        // As the sink does: a deleted user's keys and positions go before the batch's are written.
        for user in &changes.deleted {
            self.counted.retain(|key| &key.user != user);
            self.positions.remove(user);
        }
        self.rows.extend(public.inserts);
        self.counted.extend(public.counted);
        for (feed, (_, delta)) in public.podcasts {
            add(&mut self.podcasts, feed, delta);
        }
        for (item, (_, _, _, delta)) in public.episodes {
            add(&mut self.episodes, item, delta);
        }
        for (key, delta) in public.podcast_hours {
            add(&mut self.hours, key, delta);
        }
        self.settings.extend(changes.privacy_after);
        self.positions.extend(changes.positions);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn batching_does_not_change_the_public_models(
        steps in prop::collection::vec((any::<bool>(), step()), 1..40),
        cuts in prop::collection::vec(0..40usize, 0..6),
    ) {
        let events = events(&steps);
        let mut whole = Tables::default();
        whole.apply(&events);
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(events.len())).collect();
        cuts.push(0);
        cuts.push(events.len());
        cuts.sort_unstable();
        let mut batched = Tables::default();
        for window in cuts.windows(2) {
            batched.apply(&events[window[0]..window[1]]);
        }
        // Applying everything again changes nothing (replays are dropped by position).
        batched.apply(&events);
        prop_assert_eq!(&whole.rows, &batched.rows);
        prop_assert_eq!(&whole.podcasts, &batched.podcasts);
        prop_assert_eq!(&whole.episodes, &batched.episodes);
        prop_assert_eq!(&whole.hours, &batched.hours);
        // And the totals are the sum of the rows that remain and counted.
        let score: i64 = whole.rows.values().filter(|(_, r)| r.counted).map(|(_, r)| match r.kind.as_str() {
            "subscribe" => 10, "play" => 5, "save" => 3, _ => 2,
        }).sum();
        prop_assert_eq!(score, whole.podcasts.values().map(|c| c.score).sum::<i64>());
    }
}
