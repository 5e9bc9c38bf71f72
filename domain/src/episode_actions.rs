//! gpodder-style episode actions. An episode is one episode however a client reports it: by GUID,
//! by media URL, or both — the action goes to the episode the user already has under that GUID (in
//! the same feed), else under that media URL, else a new one. The newest action wins by its own
//! time (a stale upload changes nothing); a position beyond the total is clamped, not refused; `new`
//! (marked unplayed) is honoured; downloads and deletions change nothing of what is synced.

use super::decide::Ruling;
use super::episodes::record_play;
use super::state::UserState;
use balados_schemas::{EpisodeAction, FeedUrl, ItemId, Seconds};
use chrono::{DateTime, Utc};

/// What an action says beyond its episode.
#[derive(Debug, Clone, Copy)]
pub struct Reported {
    pub action: EpisodeAction,
    pub position: Option<Seconds>,
    pub total: Option<Seconds>,
}

pub fn record_action(
    state: &UserState,
    feed: &FeedUrl,
    reported: &ItemId,
    what: Reported,
    at: DateTime<Utc>,
) -> Ruling {
    let item = resolve(state, feed, reported);
    let known = state.episodes.get(&item);
    match what.action {
        EpisodeAction::Download | EpisodeAction::Delete => Ok(vec![]),
        EpisodeAction::New => {
            let duration = known.and_then(|e| e.duration).map(Seconds::clamped);
            record_play(state, feed, &item, Seconds::clamped(0), duration, false, at)
        }
        EpisodeAction::Play => {
            let total = what
                .total
                .filter(|t| t.get() > 0)
                .or_else(|| known.and_then(|e| e.duration).map(Seconds::clamped));
            let position = what.position.map_or(0, Seconds::get);
            let position = total.map_or(position, |t| position.min(t.get()));
            let played = total.is_some_and(|t| position >= t.get());
            let position = Seconds::clamped(position);
            record_play(state, feed, &item, position, total, played, at)
        }
    }
}

/// The episode the user already has for what the client reported, else the reported one. When
/// several match, the smallest id wins, so that every replay decides alike.
pub(crate) fn resolve(state: &UserState, feed: &FeedUrl, reported: &ItemId) -> ItemId {
    if state.episodes.contains_key(reported) {
        return reported.clone();
    }
    let guid_given = reported.guid() != reported.enclosure_url();
    let same_feed =
        |(id, e): &(&ItemId, &super::state::Episode)| e.feed == *feed && id != &reported;
    let by_guid = guid_given
        .then(|| {
            state
                .episodes
                .iter()
                .filter(same_feed)
                .filter(|(id, _)| id.guid() == reported.guid())
                .map(|(id, _)| id)
                .min_by_key(|id| id.id())
        })
        .flatten();
    let by_url = || {
        state
            .episodes
            .iter()
            .filter(same_feed)
            .filter(|(id, _)| id.enclosure_url() == reported.enclosure_url())
            .map(|(id, _)| id)
            .min_by_key(|id| id.id())
    };
    by_guid.or_else(by_url).unwrap_or(reported).clone()
}

#[cfg(test)]
mod tests;
