//! Episode actions: identity by GUID or URL, the newest by its own time, clamping, `new`.

use super::*;
use crate::decide::{Decision, decide};
use crate::evolve::evolve;
use balados_schemas::{CommandEnvelope, CommandPayload, EventPayload, UserId};
use chrono::{TimeZone as _, Utc};

fn t(s: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + s, 0)
        .single()
        .expect("in range")
}

fn feed() -> FeedUrl {
    FeedUrl::parse("https://pod.example/feed.xml").expect("valid")
}

fn action(
    guid: Option<&str>,
    url: &str,
    what: &str,
    position: i64,
    total: Option<i64>,
    at: i64,
) -> CommandEnvelope {
    let item = ItemId::new(guid.unwrap_or(url), url).expect("valid");
    CommandEnvelope {
        command_id: uuid::Uuid::new_v4(),
        user_id: UserId::parse("u").expect("valid"),
        occurred_at: t(at),
        received_at: t(1_000),
        app_id: Some("gpodder".into()),
        device_id: None,
        device_name: None,
        reply_to: None,
        payload: CommandPayload::RecordEpisodeAction {
            feed: feed(),
            item,
            action: EpisodeAction::parse(what).expect("known"),
            started: None,
            position: Some(Seconds::parse(position).expect("valid")),
            total: total.map(|t| Seconds::parse(t).expect("valid")),
        },
    }
}

fn apply(state: UserState, command: &CommandEnvelope) -> (UserState, Vec<EventPayload>) {
    match decide(&state, command) {
        Decision::Accepted(events) => {
            let payloads = events.iter().map(|e| e.payload.clone()).collect();
            (events.iter().fold(state, evolve), payloads)
        }
        other => panic!("not accepted: {other:?}"),
    }
}

#[test]
fn one_episode_whether_reported_by_guid_by_url_or_both_and_when_its_url_changes() {
    let (state, _) = apply(
        UserState::default(),
        &action(
            Some("g1"),
            "https://cdn.example/1.mp3",
            "play",
            10,
            Some(100),
            1,
        ),
    );
    // The URL alone (a client without GUIDs): the same episode.
    let (state, events) = apply(
        state,
        &action(None, "https://cdn.example/1.mp3", "play", 20, Some(100), 2),
    );
    assert_eq!(state.episodes.len(), 1, "{events:?}");
    // The GUID with a new URL (the feed moved its media): still the same episode.
    let (state, _) = apply(
        state,
        &action(
            Some("g1"),
            "https://new-cdn.example/1.mp3",
            "play",
            30,
            Some(100),
            3,
        ),
    );
    assert_eq!(state.episodes.len(), 1);
    let episode = state.episodes.values().next().expect("one");
    assert_eq!(episode.position, 30);
    // Another GUID is another episode.
    let (state, _) = apply(
        state,
        &action(Some("g2"), "https://cdn.example/2.mp3", "play", 5, None, 4),
    );
    assert_eq!(state.episodes.len(), 2);
}

#[test]
fn the_newest_action_wins_by_its_own_time_and_positions_are_clamped() {
    let url = "https://cdn.example/1.mp3";
    let (state, _) = apply(
        UserState::default(),
        &action(Some("g"), url, "play", 50, Some(100), 10),
    );
    // Uploaded later, happened earlier: nothing changes.
    let (state, events) = apply(state, &action(Some("g"), url, "play", 20, Some(100), 5));
    assert!(events.is_empty(), "{events:?}");
    assert_eq!(state.episodes.values().next().expect("one").position, 50);
    // Beyond the total: clamped, and played.
    let (state, _) = apply(state, &action(Some("g"), url, "play", 150, Some(100), 20));
    let episode = state.episodes.values().next().expect("one");
    assert_eq!((episode.position, episode.played), (100, true));
    // Marked unplayed afterwards: honoured.
    let (state, _) = apply(state, &action(Some("g"), url, "new", 0, None, 30));
    let episode = state.episodes.values().next().expect("one");
    assert_eq!(
        (episode.position, episode.played, episode.duration),
        (0, false, Some(100))
    );
    // Downloads and deletions change nothing that is synced.
    let (after, events) = apply(
        state.clone(),
        &action(Some("g"), url, "download", 0, None, 40),
    );
    assert!(events.is_empty());
    assert_eq!(after, state);
}
