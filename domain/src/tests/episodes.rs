//! Plays, positions, saved and shared episodes.

use super::*;
use balados_schemas::{FeedUrl, ItemId};
use proptest::prelude::*;

fn play(n: u32, position: i64, duration: Option<i64>, played: bool, at: i64) -> CommandEnvelope {
    command(
        CommandPayload::RecordPlay {
            feed: feed(1),
            item: item(n),
            position: secs(position),
            duration: duration.map(secs),
            played,
        },
        at,
    )
}

fn position(n: u32, position: i64, at: i64) -> CommandEnvelope {
    command(
        CommandPayload::UpdatePosition {
            item: item(n),
            position: secs(position),
        },
        at,
    )
}

#[test]
fn a_play_is_the_first_command_of_a_user_and_records_the_status() {
    let mut state = UserState::default();
    let d = run(&mut state, &play(1, 30, Some(600), false, 0));
    assert_eq!(
        events(&d),
        vec![EventPayload::PlayRecorded {
            feed: feed(1),
            item: item(1),
            position: 30,
            duration: Some(600),
            played: false
        }]
    );
    let e = &state.episodes[&item(1)];
    assert_eq!(
        (e.position, e.updated_at, e.played),
        (30, Some(t(0)), false)
    );
}

#[test]
fn positions_must_be_within_the_known_duration() {
    let mut state = UserState::default();
    assert_eq!(
        rejected(&run(&mut state, &play(1, 601, Some(600), false, 0))),
        "invalid_position"
    );
    run(&mut state, &play(1, 10, Some(600), false, 1));
    assert_eq!(
        rejected(&run(&mut state, &position(1, 700, 2))),
        "invalid_position",
        "the duration recorded earlier bounds later positions"
    );
}

#[test]
fn a_stale_upload_never_overwrites_newer_state() {
    let mut state = UserState::default();
    run(&mut state, &play(1, 300, None, true, 100));
    assert!(events(&run(&mut state, &play(1, 5, None, false, 50))).is_empty());
    assert!(events(&run(&mut state, &position(1, 7, 60))).is_empty());
    assert_eq!(state.episodes[&item(1)].position, 300);
    assert!(state.episodes[&item(1)].played);
}

#[test]
fn updating_a_position_needs_a_play_status_and_keeps_its_feed() {
    let mut state = UserState::default();
    assert_eq!(rejected(&run(&mut state, &position(1, 10, 0))), "not_found");
    run(&mut state, &play(1, 10, None, false, 1));
    assert_eq!(
        events(&run(&mut state, &position(1, 42, 2))),
        vec![EventPayload::PositionUpdated {
            feed: feed(1),
            item: item(1),
            position: 42
        }]
    );
    assert_eq!(
        events(&run(&mut state, &position(1, 42, 3))).len(),
        1,
        "the same position later still moves the status's time"
    );
}

#[test]
fn a_repeated_report_moves_the_time_so_an_older_upload_cannot_win_after_it() {
    let mut state = UserState::default();
    run(&mut state, &play(1, 37, None, false, 0));
    assert_eq!(
        events(&run(&mut state, &play(1, 37, None, false, 10))).len(),
        1
    );
    assert!(events(&run(&mut state, &play(1, 20, None, false, 5))).is_empty());
    assert_eq!(state.episodes[&item(1)].position, 37);
}

#[test]
fn save_unsave_and_share() {
    let mut state = UserState::default();
    let save = |at| {
        command(
            CommandPayload::SaveEpisode {
                feed: feed(1),
                item: item(2),
            },
            at,
        )
    };
    let unsave = |at| command(CommandPayload::UnsaveEpisode { item: item(2) }, at);
    assert!(matches!(
        events(&run(&mut state, &save(0)))[..],
        [EventPayload::EpisodeSaved { .. }]
    ));
    assert!(
        events(&run(&mut state, &save(1))).is_empty(),
        "already saved"
    );
    assert!(matches!(
        events(&run(&mut state, &unsave(2)))[..],
        [EventPayload::EpisodeUnsaved { .. }]
    ));
    assert!(events(&run(&mut state, &unsave(3))).is_empty(), "not saved");
    assert!(
        state.episodes.is_empty(),
        "an episode only saved is forgotten once unsaved"
    );
    let share = command(
        CommandPayload::ShareEpisode {
            feed: feed(1),
            item: item(2),
        },
        4,
    );
    assert_eq!(
        events(&run(&mut state, &share)).len(),
        1,
        "every share counts"
    );
}

#[test]
fn tracked_episodes_are_bounded() {
    let mut state = UserState::default();
    for n in 0..u32::try_from(MAX_EPISODES).expect("small") {
        state.episodes.insert(item(n), state_episode_of(feed(1)));
    }
    assert_eq!(
        rejected(&decide(&state, &play(999_999, 1, None, false, 0))),
        "limit_exceeded"
    );
    assert!(matches!(
        decide(&state, &play(0, 1, None, false, 0)),
        Decision::Accepted(_)
    ));
}

fn state_episode_of(feed: FeedUrl) -> Episode {
    Episode {
        sync_position: 0,
        feed,
        updated_at: Some(t(0)),
        position: 0,
        duration: None,
        played: false,
        saved_at: None,
    }
}

proptest! {
    /// Whatever the order of arrival, the play status ends as the one with the latest client
    /// time (among equal times, the last to arrive).
    #[test]
    fn the_latest_play_wins_whatever_the_arrival_order(
        plays in proptest::collection::vec((0i64..1000, 0i64..100), 1..20)
    ) {
        let mut state = UserState::default();
        for (pos, at) in &plays {
            run(&mut state, &play(1, *pos, None, false, *at));
        }
        let latest = plays.iter().map(|(_, at)| *at).max().expect("non-empty");
        let winner = plays.iter().rev().find(|(_, at)| *at == latest).expect("exists").0;
        let e = &state.episodes[&item(1)];
        prop_assert_eq!(e.updated_at, Some(t(latest)));
        prop_assert_eq!(i64::try_from(e.position).ok(), Some(winner));
    }
}

fn start(item: ItemId, at: i64) -> CommandEnvelope {
    command(
        CommandPayload::StartPlay {
            feed: feed(1),
            item,
        },
        at,
    )
}

#[test]
fn a_listen_through_the_gateway_starts_an_episode_not_played_yet_from_the_start() {
    let mut state = UserState::default();
    let d = run(&mut state, &start(item(1), 0));
    assert_eq!(
        events(&d),
        vec![EventPayload::PlayRecorded {
            feed: feed(1),
            item: item(1),
            position: 0,
            duration: None,
            played: false
        }]
    );
}

#[test]
fn a_listen_through_the_gateway_keeps_the_position_an_app_recorded() {
    let mut state = UserState::default();
    run(&mut state, &play(1, 1234, Some(3600), false, 0));
    run(&mut state, &play(2, 600, Some(600), true, 1));
    // Reported by its media URL alone, as a feed without GUIDs gives it: the same episode.
    let by_url = ItemId::new(item(1).enclosure_url(), item(1).enclosure_url()).expect("valid");
    let d = run(&mut state, &start(by_url, 5));
    assert_eq!(
        events(&d),
        vec![EventPayload::PlayRecorded {
            feed: feed(1),
            item: item(1),
            position: 1234,
            duration: Some(3600),
            played: false
        }]
    );
    let d = run(&mut state, &start(item(2), 6));
    assert_eq!(
        events(&d),
        vec![EventPayload::PlayRecorded {
            feed: feed(1),
            item: item(2),
            position: 600,
            duration: Some(600),
            played: true
        }]
    );
    let e = &state.episodes[&item(1)];
    assert_eq!((e.position, e.updated_at), (1234, Some(t(5))));
}
