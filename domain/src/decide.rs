//! `decide`: a command and the current state in, events or a rejection out. The rules of each
//! area live in their own module; this one dispatches and holds what they share.

use super::state::UserState;
use super::{
    collections, devices, episode_actions, episodes, playlists, privacy, subscriptions, sync,
};
use balados_schemas::RejectionCode;
use balados_schemas::event::event_id;
use balados_schemas::{
    CommandEnvelope, CommandPayload, EventEnvelope, EventPayload, RecentCommand,
};
use chrono::{DateTime, TimeDelta, Utc};

/// Client clocks may run ahead of ours by this much; later times are clamped to the reception time.
pub const MAX_CLOCK_SKEW: TimeDelta = TimeDelta::minutes(5);

/// Why a command was refused: a stable `code` for programs, a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub code: RejectionCode,
    pub message: String,
}

/// The longest rejection message, in characters. Messages quote what was refused; a value of any
/// length would otherwise travel into the outcome record, the state's recent commands and the
/// HTTP answer (a record over the broker's limit stopped every user's commands).
pub const MAX_MESSAGE_CHARS: usize = 300;

impl Rejection {
    pub fn new(code: RejectionCode, message: impl Into<String>) -> Self {
        let mut message = message.into();
        if let Some((cut, _)) = message.char_indices().nth(MAX_MESSAGE_CHARS - 1) {
            message.truncate(cut);
            message.push('…');
        }
        Self { code, message }
    }
}

/// What a rule answers: the events to emit (none when nothing changes) or a rejection.
pub type Ruling = Result<Vec<EventPayload>, Rejection>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The command id was processed before: its original outcome, nothing new emitted.
    Duplicate(RecentCommand),
    /// Accepted; the events may be empty when nothing changes (a stale or repeated request).
    Accepted(Vec<EventEnvelope>),
    Rejected(Rejection),
}

/// The command's time, clamped to the reception time when it is more than [`MAX_CLOCK_SKEW`]
/// ahead of it.
pub fn effective_time(command: &CommandEnvelope) -> DateTime<Utc> {
    if is_clamped(command) {
        command.received_at
    } else {
        command.occurred_at
    }
}

/// Whether the client's time was too far in the future to be used.
pub fn is_clamped(command: &CommandEnvelope) -> bool {
    command.occurred_at > command.received_at + MAX_CLOCK_SKEW
}

pub fn decide(state: &UserState, command: &CommandEnvelope) -> Decision {
    if let Some(previous) = state.recent_command(command.command_id) {
        return Decision::Duplicate(previous.clone());
    }
    if state.deleted {
        return after_deletion(command);
    }
    let at = playlists::time_of(state, &command.payload, effective_time(command));
    let ruling = match &command.payload {
        CommandPayload::Subscribe { feed, source_id } => {
            subscriptions::subscribe(state, feed, source_id.as_ref(), at)
        }
        CommandPayload::Unsubscribe { feed } => subscriptions::unsubscribe(state, feed, at),
        CommandPayload::RecordPlay {
            feed,
            item,
            position,
            duration,
            played,
        } => episodes::record_play(state, feed, item, *position, *duration, *played, at),
        CommandPayload::StartPlay { feed, item } => episodes::start_play(state, feed, item, at),
        CommandPayload::UpdatePosition { item, position } => {
            episodes::update_position(state, item, *position, at)
        }
        CommandPayload::RecordEpisodeAction {
            feed,
            item,
            action,
            position,
            total,
            ..
        } => {
            let what = episode_actions::Reported {
                action: *action,
                position: *position,
                total: *total,
            };
            episode_actions::record_action(state, feed, item, what, at)
        }
        // Each event of a sync carries the client's own time of the change it records.
        CommandPayload::Sync {
            last_sync,
            subscriptions,
            plays,
            playlists,
        } => {
            let uploads = (
                subscriptions.as_slice(),
                plays.as_slice(),
                playlists.as_slice(),
            );
            let timed = sync::merge(state, command, *last_sync, uploads);
            return Decision::Accepted(envelopes(state, command, timed));
        }
        CommandPayload::SaveEpisode { feed, item } => episodes::save(state, feed, item),
        CommandPayload::UnsaveEpisode { item } => episodes::unsave(state, item),
        CommandPayload::ShareEpisode { feed, item } => Ok(vec![EventPayload::EpisodeShared {
            feed: feed.clone(),
            item: item.clone(),
        }]),
        CommandPayload::ChangePrivacy { scope, privacy } => privacy::change(state, scope, *privacy),
        CommandPayload::RemoveEvents { scope } => Ok(vec![EventPayload::EventsRemoved {
            scope: scope.clone(),
        }]),
        // Recorded even for a user with nothing: the event is what makes every reader forget the
        // user, and what the id is refused by from then on.
        CommandPayload::DeleteAccount {} => Ok(vec![EventPayload::AccountDeleted {}]),
        CommandPayload::UpsertDevice {
            device_id,
            caption,
            kind,
        } => devices::upsert(state, device_id, caption.as_ref(), kind.as_ref()),
        CommandPayload::CreatePlaylist {
            playlist_id,
            name,
            description,
            public,
        } => playlists::create(state, playlist_id, name, description.as_ref(), *public),
        CommandPayload::UpdatePlaylist {
            playlist_id,
            name,
            description,
            public,
        } => playlists::update(
            state,
            playlist_id.as_str(),
            name.as_ref(),
            description.as_ref(),
            *public,
        ),
        CommandPayload::DeletePlaylist { playlist_id } => {
            playlists::delete(state, playlist_id.as_str())
        }
        CommandPayload::AddPlaylistItem {
            playlist_id,
            feed,
            item,
        } => playlists::add_item(state, playlist_id.as_str(), feed, item),
        CommandPayload::RemovePlaylistItem { playlist_id, item } => {
            playlists::remove_item(state, playlist_id.as_str(), item)
        }
        CommandPayload::ReorderPlaylist { playlist_id, items } => {
            playlists::reorder(state, playlist_id.as_str(), items)
        }
        CommandPayload::CreateCollection {
            collection_id,
            title,
            public,
        } => collections::create(state, collection_id, title, *public),
        CommandPayload::UpdateCollection {
            collection_id,
            title,
            public,
        } => collections::update(state, collection_id.as_str(), title.as_ref(), *public),
        CommandPayload::DeleteCollection { collection_id } => {
            collections::delete(state, collection_id.as_str())
        }
        CommandPayload::AddCollectionFeed {
            collection_id,
            feed,
        } => collections::add_feed(state, collection_id.as_str(), feed),
        CommandPayload::RemoveCollectionFeed {
            collection_id,
            feed,
        } => collections::remove_feed(state, collection_id.as_str(), feed),
        CommandPayload::MoveCollectionFeed {
            collection_id,
            feed,
            position,
        } => collections::move_feed(state, collection_id.as_str(), feed, *position),
    };
    match ruling {
        Err(rejection) => Decision::Rejected(rejection),
        Ok(payloads) => {
            let timed = payloads.into_iter().map(|p| (p, at)).collect();
            Decision::Accepted(envelopes(state, command, timed))
        }
    }
}

/// A command of a deleted user: refused, whatever it is, so that nothing of theirs appears again
/// (a request still being served when the account was deleted may send many) — but a repeated
/// deletion, which has nothing left to do and says so (the deletion page may retry).
fn after_deletion(command: &CommandEnvelope) -> Decision {
    match command.payload {
        CommandPayload::DeleteAccount {} => Decision::Accepted(Vec::new()),
        _ => Decision::Rejected(Rejection::new(
            RejectionCode::AccountDeleted,
            "this account was deleted",
        )),
    }
}

/// The envelopes of a command's events, each with its time: the command's, or for a sync the
/// client's time of each change.
fn envelopes(
    state: &UserState,
    command: &CommandEnvelope,
    payloads: Vec<sync::Timed>,
) -> Vec<EventEnvelope> {
    // Positions follow the clock (in whole seconds) but never repeat nor go back: a burst runs
    // ahead of the clock and the clock catches up. Deterministic: from the state and the
    // command's reception time only.
    let first_position = (state.sync_position + 1).max(command.received_at.timestamp());
    payloads
        .into_iter()
        .zip(0u32..)
        .map(|((payload, at), index)| EventEnvelope {
            event_id: event_id(command.command_id, index),
            command_id: command.command_id,
            user_id: command.user_id.clone(),
            sequence: state.sequence + 1 + u64::from(index),
            sync_position: first_position + i64::from(index),
            occurred_at: at,
            recorded_at: command.received_at,
            app_id: command.app_id.clone(),
            device_id: command.device_id.as_ref().map(ToString::to_string),
            device_name: command.device_name.as_ref().map(ToString::to_string),
            payload,
        })
        .collect()
}

pub use balados_schemas::fields::MAX_LIST_BYTES;

/// Refuses growing a list of `current` bytes by `adding` past [`MAX_LIST_BYTES`].
pub fn list_fits(current: usize, adding: usize) -> Result<(), Rejection> {
    if current + adding > MAX_LIST_BYTES {
        return Err(limit(
            "bytes of URLs and GUIDs in one collection or playlist",
            MAX_LIST_BYTES,
        ));
    }
    Ok(())
}

pub fn limit(what: &str, max: usize) -> Rejection {
    Rejection::new(
        RejectionCode::LimitExceeded,
        format!("a user may hold at most {max} {what}"),
    )
}
