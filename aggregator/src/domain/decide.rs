//! `decide`: a command and the current state in, events or a rejection out. The rules of each
//! area live in their own module; this one dispatches and holds what they share.

use super::state::UserState;
use super::{collections, devices, episodes, playlists, privacy, subscriptions};
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
    pub code: &'static str,
    pub message: String,
}

/// The longest rejection message, in characters. Messages quote what was refused; a value of any
/// length would otherwise travel into the outcome record, the state's recent commands and the
/// HTTP answer (a record over the broker's limit stopped every user's commands).
pub const MAX_MESSAGE_CHARS: usize = 300;

impl Rejection {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
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
    let at = effective_time(command);
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
        CommandPayload::UpdatePosition { item, position } => {
            episodes::update_position(state, item, *position, at)
        }
        CommandPayload::SaveEpisode { feed, item } => episodes::save(state, feed, item),
        CommandPayload::UnsaveEpisode { item } => episodes::unsave(state, item),
        CommandPayload::ShareEpisode { feed, item } => Ok(vec![EventPayload::EpisodeShared {
            feed: feed.clone(),
            item: item.clone(),
        }]),
        CommandPayload::ChangePrivacy { scope, privacy } => privacy::change(state, scope, privacy),
        CommandPayload::RemoveEvents { scope } => Ok(vec![EventPayload::EventsRemoved {
            scope: scope.clone(),
        }]),
        CommandPayload::UpsertDevice {
            device_id,
            caption,
            kind,
        } => devices::upsert(state, device_id, caption.as_deref(), kind.as_deref()),
        CommandPayload::CreatePlaylist {
            playlist_id,
            name,
            description,
            public,
        } => playlists::create(state, playlist_id, name, description.as_deref(), *public),
        CommandPayload::UpdatePlaylist {
            playlist_id,
            name,
            description,
            public,
        } => playlists::update(
            state,
            playlist_id,
            name.as_deref(),
            description.as_deref(),
            *public,
        ),
        CommandPayload::DeletePlaylist { playlist_id } => playlists::delete(state, playlist_id),
        CommandPayload::AddPlaylistItem {
            playlist_id,
            feed,
            item,
        } => playlists::add_item(state, playlist_id, feed, item),
        CommandPayload::RemovePlaylistItem { playlist_id, item } => {
            playlists::remove_item(state, playlist_id, item)
        }
        CommandPayload::ReorderPlaylist { playlist_id, items } => {
            playlists::reorder(state, playlist_id, items)
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
        } => collections::update(state, collection_id, title.as_deref(), *public),
        CommandPayload::DeleteCollection { collection_id } => {
            collections::delete(state, collection_id)
        }
        CommandPayload::AddCollectionFeed {
            collection_id,
            feed,
        } => collections::add_feed(state, collection_id, feed),
        CommandPayload::RemoveCollectionFeed {
            collection_id,
            feed,
        } => collections::remove_feed(state, collection_id, feed),
        CommandPayload::MoveCollectionFeed {
            collection_id,
            feed,
            position,
        } => collections::move_feed(state, collection_id, feed, *position),
    };
    match ruling {
        Err(rejection) => Decision::Rejected(rejection),
        Ok(payloads) => Decision::Accepted(envelopes(state, command, at, payloads)),
    }
}

fn envelopes(
    state: &UserState,
    command: &CommandEnvelope,
    at: DateTime<Utc>,
    payloads: Vec<EventPayload>,
) -> Vec<EventEnvelope> {
    payloads
        .into_iter()
        .zip(0u32..)
        .map(|(payload, index)| EventEnvelope {
            event_id: event_id(command.command_id, index),
            command_id: command.command_id,
            user_id: command.user_id.clone(),
            sequence: state.sequence + 1 + u64::from(index),
            occurred_at: at,
            recorded_at: command.received_at,
            app_id: command.app_id.clone(),
            device_id: command.device_id.clone(),
            device_name: command.device_name.clone(),
            payload,
        })
        .collect()
}

/// Longest name or title, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 2_000;
/// Longest playlist, collection or device id.
pub const MAX_ID_LEN: usize = 64;

/// A required, bounded, single-line name, trimmed.
pub fn name(code: &'static str, field: &str, raw: &str) -> Result<String, Rejection> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(Rejection::new(code, format!("{field} must not be blank")));
    }
    if trimmed.chars().count() > MAX_NAME_CHARS {
        return Err(Rejection::new(
            code,
            format!("{field} is longer than {MAX_NAME_CHARS} characters"),
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(Rejection::new(
            code,
            format!("{field} must not contain control characters"),
        ));
    }
    Ok(trimmed.to_owned())
}

/// An optional description: blank means none.
pub fn description(raw: &str) -> Result<Option<String>, Rejection> {
    let trimmed = raw.trim();
    if trimmed.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(Rejection::new(
            "invalid_description",
            format!("description is longer than {MAX_DESCRIPTION_CHARS} characters"),
        ));
    }
    Ok((!trimmed.is_empty()).then(|| trimmed.to_owned()))
}

/// An id that appears in URLs and state keys: 1 to [`MAX_ID_LEN`] of `A-Z a-z 0-9 _ -` (and `.`
/// when `dots`, as gpodder device ids allow).
pub fn id(code: &'static str, field: &str, raw: &str, dots: bool) -> Result<(), Rejection> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-' || (dots && c == '.');
    if raw.is_empty() || raw.len() > MAX_ID_LEN || !raw.chars().all(allowed) {
        let extra = if dots { " . " } else { " " };
        return Err(Rejection::new(
            code,
            format!("{field} must be 1 to {MAX_ID_LEN} of A-Z a-z 0-9 _ -{extra}"),
        ));
    }
    Ok(())
}

/// The bytes of URLs and GUIDs one list (a collection, the default one included, or a playlist)
/// may hold. A list is one state record; this keeps it well under the broker's record limit
/// (Kafka's and librdkafka's default: 1,000,000 bytes) whatever the count limits allow: 5,000
/// subscriptions of 2,048-byte URLs would otherwise make a 10 MB record that no broker takes.
pub const MAX_LIST_BYTES: usize = 512 * 1024;

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
        "limit_exceeded",
        format!("a user may hold at most {max} {what}"),
    )
}
