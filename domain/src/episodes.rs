//! Plays, positions and saved episodes. A play status changes only forward in the client's time:
//! a stale upload never overwrites newer state.

use super::decide::{Rejection, Ruling, limit};
use super::state::UserState;
use balados_schemas::RejectionCode;
use balados_schemas::{EventPayload, FeedUrl, ItemId, Seconds};
use chrono::{DateTime, Utc};

/// Episodes one user may track (play statuses and saved episodes).
pub const MAX_EPISODES: usize = 20_000;

/// The position, within the duration when one is known (given now or earlier).
fn position(given: Seconds, duration: Option<u64>) -> Result<u64, Rejection> {
    let position = given.get();
    match duration {
        Some(d) if position > d => Err(Rejection::new(
            RejectionCode::InvalidPosition,
            format!("position {position} is beyond the duration {d}"),
        )),
        _ => Ok(position),
    }
}

fn room_for(state: &UserState, item: &ItemId) -> Result<(), Rejection> {
    if !state.episodes.contains_key(item) && state.episodes.len() >= MAX_EPISODES {
        return Err(limit("tracked episodes", MAX_EPISODES));
    }
    Ok(())
}

pub fn record_play(
    state: &UserState,
    feed: &FeedUrl,
    item: &ItemId,
    given_position: Seconds,
    given_duration: Option<Seconds>,
    played: bool,
    at: DateTime<Utc>,
) -> Ruling {
    let current = state.episodes.get(item);
    let duration = given_duration
        .map(Seconds::get)
        .or(current.and_then(|e| e.duration));
    let position = position(given_position, duration)?;
    room_for(state, item)?;
    // A repeat of the same values is still recorded: it moves `updated_at` forward (so that an
    // older upload cannot win afterwards) and every play counts.
    if current.is_some_and(|e| e.updated_at.is_some_and(|u| at < u)) {
        return Ok(vec![]);
    }
    Ok(vec![EventPayload::PlayRecorded {
        feed: feed.clone(),
        item: item.clone(),
        position,
        duration,
        played,
    }])
}

/// A listen began without a position (the play gateway): the user's episode (found as a gpodder
/// action finds it, by GUID else by media URL) is recorded again as it stands — a player
/// fetching the media says nothing of where it will resume, and the apps' positions must not go
/// back to 0 — or from the start when the user has not played it yet.
pub fn start_play(
    state: &UserState,
    feed: &FeedUrl,
    reported: &ItemId,
    at: DateTime<Utc>,
) -> Ruling {
    let item = super::episode_actions::resolve(state, feed, reported);
    let (position, duration, played) = state
        .episodes
        .get(&item)
        .filter(|e| e.updated_at.is_some())
        .map_or((0, None, false), |e| (e.position, e.duration, e.played));
    record_play(
        state,
        feed,
        &item,
        Seconds::clamped(position),
        duration.map(Seconds::clamped),
        played,
        at,
    )
}

/// Moves the position of an episode the user has played; its feed is the play status's.
pub fn update_position(
    state: &UserState,
    item: &ItemId,
    given_position: Seconds,
    at: DateTime<Utc>,
) -> Ruling {
    let Some(e) = state.episodes.get(item).filter(|e| e.updated_at.is_some()) else {
        return Err(Rejection::new(
            RejectionCode::NotFound,
            "no play status for this episode: record a play first",
        ));
    };
    let position = position(given_position, e.duration)?;
    if e.updated_at.is_some_and(|u| at < u) {
        return Ok(vec![]);
    }
    Ok(vec![EventPayload::PositionUpdated {
        feed: e.feed.clone(),
        item: item.clone(),
        position,
    }])
}

pub fn save(state: &UserState, feed: &FeedUrl, item: &ItemId) -> Ruling {
    if state
        .episodes
        .get(item)
        .is_some_and(|e| e.saved_at.is_some())
    {
        return Ok(vec![]);
    }
    room_for(state, item)?;
    Ok(vec![EventPayload::EpisodeSaved {
        feed: feed.clone(),
        item: item.clone(),
    }])
}

/// Unsaving an episode that is not saved changes nothing (DELETE stays idempotent).
pub fn unsave(state: &UserState, item: &ItemId) -> Ruling {
    Ok(state
        .episodes
        .get(item)
        .filter(|e| e.saved_at.is_some())
        .map(|e| EventPayload::EpisodeUnsaved {
            feed: e.feed.clone(),
            item: item.clone(),
        })
        .into_iter()
        .collect())
}
