//! The fold, without I/O: replays, merged patches, lists, privacy transitions and popularity.

use super::public::{Counts, PublicKind, PublicRow, bucket};
use super::*;
use balados_schemas::{FeedUrl, ItemId, Privacy, Scope, UserId};
use chrono::{DateTime, TimeZone as _, Utc};

mod deletion;

const GRACE: TimeDelta = TimeDelta::hours(48);

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + seconds, 0)
        .single()
        .expect("valid")
}

fn feed() -> FeedUrl {
    FeedUrl::parse("https://e.com/f").expect("valid")
}

fn item(n: u32) -> ItemId {
    ItemId::new(&format!("g{n}"), &format!("https://e.com/{n}.mp3")).expect("valid")
}

/// An event of `user` at `sequence`, happening `sequence` seconds after the epoch of the tests.
pub(crate) fn event(user: &str, sequence: u64, payload: EventPayload) -> EventEnvelope {
    let time = at(i64::try_from(sequence).expect("small"));
    EventEnvelope {
        sync_position: 0,
        event_id: uuid::Uuid::from_u128(u128::from(sequence) << 8 | u128::from(user.as_bytes()[0])),
        command_id: uuid::Uuid::nil(),
        user_id: UserId::parse(user).expect("valid"),
        sequence,
        occurred_at: time,
        recorded_at: time,
        app_id: None,
        device_id: None,
        device_name: None,
        payload,
    }
}

fn subscribed(user: &str, sequence: u64) -> EventEnvelope {
    event(
        user,
        sequence,
        EventPayload::Subscribed {
            feed: feed(),
            source_id: None,
            subscribed_at: at(0),
        },
    )
}

fn unsubscribed(user: &str, sequence: u64) -> EventEnvelope {
    event(
        user,
        sequence,
        EventPayload::Unsubscribed {
            feed: feed(),
            unsubscribed_at: at(1),
        },
    )
}

fn played(user: &str, sequence: u64, n: u32) -> EventEnvelope {
    event(
        user,
        sequence,
        EventPayload::PlayRecorded {
            feed: feed(),
            item: item(n),
            position: 10,
            duration: Some(600),
            played: false,
        },
    )
}

fn privacy(user: &str, sequence: u64, scope: Scope, privacy: Privacy) -> EventEnvelope {
    event(
        user,
        sequence,
        EventPayload::PrivacyChanged { scope, privacy },
    )
}

fn positions(entries: &[(&str, u64, u64)]) -> Loaded {
    Loaded {
        positions: entries
            .iter()
            .map(|(u, per_user, public)| {
                (
                    (*u).to_owned(),
                    Positions {
                        sync: 0,
                        per_user: *per_user,
                        public: *public,
                    },
                )
            })
            .collect(),
        ..Loaded::default()
    }
}

fn run(events: &[EventEnvelope]) -> BatchChanges {
    fold(events, Loaded::default(), GRACE, OnGap::Hold)
}

#[test]
fn replayed_events_are_dropped_by_sequence() {
    let events = [
        subscribed("a", 1),
        unsubscribed("a", 2),
        unsubscribed("a", 2),
        subscribed("b", 1),
    ];
    let changes = fold(&events, positions(&[("a", 1, 1)]), GRACE, OnGap::Hold);
    assert_eq!((changes.applied, changes.replays), (2, 2));
    assert_eq!(changes.positions["a"].per_user, 2);
    assert_eq!(changes.positions["b"].public, 1);
    assert!(changes.gaps.is_empty());
}

#[test]
fn one_key_is_written_once_with_the_merged_columns() {
    let changes = run(&[subscribed("a", 1), unsubscribed("a", 2)]);
    assert_eq!(changes.per_user.subscriptions.len(), 1);
    let patch = changes.per_user.subscriptions.values().next().expect("one");
    assert!(patch.subscribed_at.is_some() && patch.unsubscribed_at.is_some());
}

#[test]
fn the_same_events_twice_fold_to_nothing_new() {
    let events = [subscribed("a", 1), played("a", 2, 1)];
    let first = run(&events);
    let stored = Loaded {
        positions: first.positions.clone().into_iter().collect(),
        ..Loaded::default()
    };
    let second = fold(&events, stored, GRACE, OnGap::Hold);
    assert_eq!(second.applied, 0);
    assert_eq!(second.per_user, per_user::PerUserChanges::default());
    assert_eq!(second.public, public::PublicChanges::default());
}

#[test]
fn a_sequence_gap_holds_its_user_and_no_one_else() {
    let events = [
        subscribed("a", 1),
        unsubscribed("a", 3),
        subscribed("b", 1),
        subscribed("a", 4),
    ];
    let changes = run(&events);
    let gap = |c: &BatchChanges| {
        c.gaps
            .iter()
            .map(|g| (g.user.clone(), g.applied, g.found, g.index))
            .collect::<Vec<_>>()
    };
    assert_eq!(gap(&changes), vec![("a".to_owned(), 1, 3, 1)]);
    assert_eq!((changes.applied, changes.held), (2, 2));
    assert_eq!(changes.positions["a"].per_user, 1, "a stays before the gap");
    assert_eq!(changes.positions["b"].per_user, 1, "b flows on");
    assert!(
        changes
            .per_user
            .subscriptions
            .values()
            .all(|p| p.unsubscribed_at.is_none()),
        "nothing after the gap is applied"
    );

    // A user held by an earlier batch stays held, whatever comes.
    let held = Loaded {
        positions: changes.positions.clone().into_iter().collect(),
        held: HashSet::from(["a".to_owned()]),
        ..Loaded::default()
    };
    let later = fold(&[subscribed("a", 2)], held, GRACE, OnGap::Hold);
    assert_eq!((later.applied, later.held, later.gaps.len()), (0, 1, 0));

    // A rebuild's replay applies on.
    let replayed = fold(&events, Loaded::default(), GRACE, OnGap::Accept);
    assert_eq!((replayed.applied, replayed.held), (4, 0));
    assert_eq!(gap(&replayed).len(), 1);
}

#[test]
fn after_a_rebuild_only_the_projection_behind_applies_an_event() {
    // Per-user models from a state record at sequence 2, public ones replayed up to 1.
    let changes = fold(
        &[played("a", 2, 1), played("a", 3, 2)],
        positions(&[("a", 2, 1)]),
        GRACE,
        OnGap::Hold,
    );
    assert_eq!(changes.per_user.episodes.len(), 1, "only sequence 3");
    assert_eq!(changes.public.inserts.len(), 2, "both");
    assert_eq!(
        changes.positions["a"],
        Positions {
            sync: 0,
            per_user: 3,
            public: 3
        }
    );
}

#[test]
fn plays_saves_privacy_and_devices_fold_to_one_row_each() {
    let (feed, item) = (feed(), item(1));
    let episode = |sequence, payload| event("a", sequence, payload);
    let events = [
        played("a", 1, 1),
        episode(
            2,
            EventPayload::EpisodeSaved {
                feed: feed.clone(),
                item: item.clone(),
            },
        ),
        episode(
            3,
            EventPayload::PositionUpdated {
                feed: feed.clone(),
                item: item.clone(),
                position: 42,
            },
        ),
        episode(
            4,
            EventPayload::EpisodeUnsaved {
                feed: feed.clone(),
                item: item.clone(),
            },
        ),
        privacy("a", 5, Scope::Feed(feed.clone()), Privacy::Anonymous),
        privacy("a", 6, Scope::Feed(feed.clone()), Privacy::Private),
        episode(
            7,
            EventPayload::DeviceUpserted {
                device_id: "phone".to_owned(),
                caption: Some("My phone".to_owned()),
                kind: Some("mobile".to_owned()),
            },
        ),
    ];
    let changes = run(&events);
    assert_eq!(changes.applied, 7);
    let patch = &changes.per_user.episodes[&("a".to_owned(), item.id())];
    assert_eq!(
        (patch.position, patch.duration, patch.played, patch.saved_at),
        (Some(42), Some(Some(600)), Some(false), Some(None)),
        "the last position, the recorded duration, saved then unsaved"
    );
    assert_eq!(
        changes.per_user.privacy[&("a".to_owned(), "feed", feed.id())],
        Privacy::Private
    );
    assert_eq!(changes.per_user.devices.len(), 1);
    assert!(changes.per_user.subscriptions.is_empty());
}

#[test]
fn playlists_and_collections_end_as_the_aggregate_left_them() {
    let list = |sequence, payload| event("a", sequence, payload);
    let id = || "pl".to_owned();
    let events = [
        list(
            1,
            EventPayload::PlaylistCreated {
                playlist_id: id(),
                name: "Commute".to_owned(),
                description: None,
                public: false,
            },
        ),
        list(
            2,
            EventPayload::PlaylistItemAdded {
                playlist_id: id(),
                feed: feed(),
                item: item(1),
            },
        ),
        list(
            3,
            EventPayload::PlaylistItemAdded {
                playlist_id: id(),
                feed: feed(),
                item: item(2),
            },
        ),
        list(
            4,
            EventPayload::PlaylistItemAdded {
                playlist_id: id(),
                feed: feed(),
                item: item(3),
            },
        ),
        list(
            5,
            EventPayload::PlaylistReordered {
                playlist_id: id(),
                items: vec![item(3), item(1), item(2)],
            },
        ),
        list(
            6,
            EventPayload::PlaylistItemRemoved {
                playlist_id: id(),
                item: item(1),
            },
        ),
        list(
            7,
            EventPayload::CollectionCreated {
                collection_id: "c".to_owned(),
                title: "News".to_owned(),
                is_default: false,
                public: true,
            },
        ),
        list(
            8,
            EventPayload::CollectionDeleted {
                collection_id: "c".to_owned(),
            },
        ),
    ];
    let changes = run(&events);
    let playlist = changes.lists.playlists[&("a".to_owned(), id())]
        .as_ref()
        .expect("exists");
    let order: Vec<&str> = playlist.items.iter().map(|i| i.guid.as_str()).collect();
    assert_eq!(order, ["g3", "g2"]);
    assert_eq!(
        changes.lists.collections[&("a".to_owned(), "c".to_owned())],
        None,
        "a deleted collection is written as gone"
    );
}

fn public_rows(changes: &BatchChanges) -> Vec<(uuid::Uuid, Option<&str>)> {
    changes
        .public
        .inserts
        .values()
        .map(|(_, row)| (row.event_id, row.user_id.as_deref()))
        .collect()
}

/// The earlier public event of `event`, as the sink loads it.
fn stored(changes: &BatchChanges) -> Vec<PublicRow> {
    changes
        .public
        .inserts
        .values()
        .map(|(_, row)| row.clone())
        .collect()
}

/// public → anonymous → private → public at each level, each change in its own batch, against
/// the rows the earlier batches left.
#[test]
fn every_privacy_transition_at_every_level() {
    let (feed, target) = (feed(), item(1));
    for scope in [
        Scope::Global,
        Scope::Feed(feed.clone()),
        Scope::Item(target.clone()),
    ] {
        let first = run(&[played("a", 1, 1), subscribed("a", 2)]);
        assert_eq!(
            public_rows(&first)
                .iter()
                .filter(|r| r.1 == Some("a"))
                .count(),
            2,
            "public by default, with the user id"
        );
        // The subscription is a feed event: an episode-level setting does not reach it.
        let reaches_subscription = !matches!(scope, Scope::Item(_));
        let mut earlier = HashMap::from([("a".to_owned(), stored(&first))]);
        let step =
            |sequence: u64, level: Privacy, earlier: &mut HashMap<String, Vec<PublicRow>>| {
                let mut loaded = Loaded {
                    positions: HashMap::from([(
                        "a".to_owned(),
                        Positions {
                            sync: 0,
                            per_user: sequence - 1,
                            public: sequence - 1,
                        },
                    )]),
                    earlier: std::mem::take(earlier),
                    ..Loaded::default()
                };
                // Settings before this change, as the sink would load them.
                loaded
                    .privacy
                    .insert("a".to_owned(), settings_before(sequence, &scope));
                fold(
                    &[
                        privacy("a", sequence, scope.clone(), level),
                        played("a", sequence + 100, 2),
                    ],
                    loaded,
                    GRACE,
                    // The play's sequence leaves room for the steps: not a gap to hold.
                    OnGap::Accept,
                )
            };
        let anonymous = step(3, Privacy::Anonymous, &mut earlier);
        let expected_anonymised = if reaches_subscription { 2 } else { 1 };
        assert_eq!(
            anonymous.public.anonymised.len(),
            expected_anonymised,
            "{scope:?}: to anonymous strips the user id"
        );
        assert!(anonymous.public.withdrawn.is_empty());
        let after_anonymous = stored_after(&first, &anonymous);
        earlier.insert("a".to_owned(), after_anonymous.clone());
        let private = step(4, Privacy::Private, &mut earlier);
        assert_eq!(
            private.public.withdrawn.len(),
            expected_anonymised,
            "{scope:?}: to private withdraws them"
        );
        assert_eq!(
            private.public.episodes[&target.id()].3.score,
            -5,
            "{scope:?}: a withdrawn play takes its points back"
        );
        let public = step(5, Privacy::Public, &mut HashMap::new());
        assert!(public.public.withdrawn.is_empty() && public.public.anonymised.is_empty());
        assert!(
            public_rows(&public)
                .iter()
                .all(|(_, user)| *user == Some("a")),
            "{scope:?}: back to public, new events carry the user id again"
        );
    }
}

/// The settings before the change at `sequence` in `every_privacy_transition_at_every_level`.
fn settings_before(sequence: u64, scope: &Scope) -> PrivacySettings {
    let mut settings = PrivacySettings::default();
    let level = match sequence {
        4 => Privacy::Anonymous,
        5 => Privacy::Private,
        _ => return settings,
    };
    settings.set(scope, level);
    settings
}

/// The rows after `changes`, starting from those `first` inserted.
fn stored_after(first: &BatchChanges, changes: &BatchChanges) -> Vec<PublicRow> {
    let mut rows = stored(first);
    for row in &mut rows {
        if changes.public.anonymised.contains(&row.event_id) {
            row.user_id = None;
        }
    }
    rows.retain(|r| !changes.public.withdrawn.contains_key(&r.event_id));
    rows
}

#[test]
fn a_change_in_the_same_batch_revises_that_batch_s_events() {
    let changes = run(&[
        played("a", 1, 1),
        privacy("a", 2, Scope::Global, Privacy::Anonymous),
        played("a", 3, 2),
        privacy("a", 4, Scope::Item(item(2)), Privacy::Private),
    ]);
    let rows = public_rows(&changes);
    assert_eq!(
        rows.len(),
        1,
        "the second play was withdrawn before it was written"
    );
    assert_eq!(rows[0].1, None, "the first play was anonymised");
    assert_eq!(changes.public.podcasts[&feed().id()].1.plays, 1);
}

#[test]
fn private_events_are_not_published_and_do_not_count() {
    let changes = run(&[
        privacy("a", 1, Scope::Feed(feed()), Privacy::Private),
        played("a", 2, 1),
        subscribed("a", 3),
    ]);
    assert!(changes.public.inserts.is_empty());
    assert!(changes.public.podcasts.is_empty());
}

#[test]
fn removing_events_withdraws_them_whatever_their_privacy() {
    let first = run(&[played("a", 1, 1), played("a", 2, 2)]);
    let loaded = Loaded {
        positions: first.positions.clone().into_iter().collect(),
        earlier: HashMap::from([("a".to_owned(), stored(&first))]),
        ..Loaded::default()
    };
    let changes = fold(
        &[event(
            "a",
            3,
            EventPayload::EventsRemoved {
                scope: Scope::Item(item(1)),
            },
        )],
        loaded,
        GRACE,
        OnGap::Hold,
    );
    assert_eq!(changes.public.withdrawn.len(), 1);
    assert_eq!(
        changes.public.episodes[&item(1).id()].3,
        Counts {
            score: -5,
            plays: -1,
            ..Counts::default()
        }
    );
}

#[test]
fn points_per_kind_land_in_their_event_time_hour() {
    let mut late = played("b", 3, 1);
    late.recorded_at = late.occurred_at + GRACE + TimeDelta::seconds(1);
    let mut within = played("b", 4, 2);
    within.recorded_at = within.occurred_at + GRACE;
    let events = [
        subscribed("a", 1),
        event(
            "a",
            2,
            EventPayload::EpisodeSaved {
                feed: feed(),
                item: item(1),
            },
        ),
        subscribed("b", 1),
        event(
            "b",
            2,
            EventPayload::EpisodeShared {
                feed: feed(),
                item: item(1),
            },
        ),
        late,
        within,
    ];
    let changes = run(&events);
    let total = changes.public.podcasts[&feed().id()].1;
    assert_eq!(
        total,
        Counts {
            score: 10 + 3 + 10 + 2 + 5 + 5,
            plays: 2,
            likes: 1,
            subscribes: 2,
            shares: 1,
        }
    );
    assert_eq!(changes.public.late, 1);
    let hourly: i64 = changes.public.podcast_hours.values().map(|c| c.score).sum();
    assert_eq!(
        hourly,
        total.score - 5,
        "the late play counts in all-time only"
    );
    assert_eq!(PublicKind::parse("save"), Some(PublicKind::Save));
}

#[test]
fn buckets_split_on_the_hour() {
    let hour = Utc
        .with_ymd_and_hms(2026, 11, 25, 10, 0, 0)
        .single()
        .expect("valid");
    let before = hour - TimeDelta::seconds(1);
    assert_eq!(
        bucket(before, before, GRACE),
        Some(hour - TimeDelta::hours(1))
    );
    assert_eq!(bucket(hour, hour, GRACE), Some(hour));
    assert_eq!(
        bucket(hour, hour + GRACE, GRACE),
        Some(hour),
        "at the limit"
    );
    assert_eq!(
        bucket(hour, hour + GRACE + TimeDelta::seconds(1), GRACE),
        None
    );
}

#[test]
fn events_of_feeds_that_carry_credentials_are_never_published() {
    let private = FeedUrl::parse("https://www.patreon.com/rss/show?auth=Ab12Cd34").expect("valid");
    let changes = run(&[event(
        "a",
        1,
        EventPayload::Subscribed {
            feed: private,
            source_id: None,
            subscribed_at: at(0),
        },
    )]);
    assert!(
        changes.public.inserts.is_empty(),
        "not on the public timeline"
    );
    assert!(
        changes.public.podcasts.is_empty(),
        "not counted in popularity"
    );
    assert_eq!(
        changes.per_user.subscriptions.len(),
        1,
        "the user's own models still have it"
    );
}

#[test]
fn a_users_repeats_earn_points_once_a_day() {
    let mut next_day = played("a", 4, 1);
    next_day.occurred_at += TimeDelta::days(1);
    next_day.recorded_at = next_day.occurred_at;
    // A client that dates its repeats on other days (its timestamps are its own) earns nothing more.
    let mut backdated = played("a", 5, 1);
    backdated.occurred_at -= TimeDelta::days(300);
    let events = [
        played("a", 1, 1),
        played("a", 2, 1),
        played("a", 3, 1),
        played("b", 1, 1),
        next_day,
        backdated,
    ];
    let changes = run(&events);
    let episode = changes.public.episodes[&item(1).id()].3;
    assert_eq!(
        (episode.plays, episode.score),
        (3, 15),
        "a's first play of each day of recording and b's play"
    );
    // Every play is still a public event; the repeats carry no points.
    assert_eq!(changes.public.inserts.len(), 6);
    assert_eq!(changes.public.repeats, 3);
    assert_eq!(changes.public.counted.len(), 3);

    // A later batch that finds the key counted adds nothing either.
    let loaded = Loaded {
        counted: changes.public.counted.clone().into_iter().collect(),
        ..positions(&[("a", 5, 5), ("b", 1, 1)])
    };
    let again = fold(&[played("a", 6, 1)], loaded, GRACE, OnGap::Hold);
    assert!(
        again.public.episodes.is_empty(),
        "{:?}",
        again.public.episodes
    );
    assert_eq!(again.public.inserts.len(), 1);
}
