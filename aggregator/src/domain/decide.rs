//! The invariants of the subscription commands.

use super::state::UserState;
use balados_schemas::event::event_id;
use balados_schemas::{
    CommandEnvelope, CommandPayload, EventEnvelope, EventPayload, RecentCommand,
};
use chrono::{DateTime, TimeDelta, Utc};

/// Client clocks may run ahead of ours by this much; later times are clamped to the reception time.
pub const MAX_CLOCK_SKEW: TimeDelta = TimeDelta::minutes(5);
/// Active subscriptions one user may hold.
pub const MAX_SUBSCRIPTIONS: usize = 5_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub code: &'static str,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The command id was processed before: its original outcome, nothing new emitted.
    Duplicate(RecentCommand),
    /// Accepted; the events may be empty when nothing changes (a stale or repeated request).
    Accepted(Vec<EventEnvelope>),
    Rejected(Rejection),
}

/// The command's time, clamped to `received_at + MAX_CLOCK_SKEW`.
pub fn effective_time(command: &CommandEnvelope) -> DateTime<Utc> {
    let limit = command.received_at + MAX_CLOCK_SKEW;
    if command.occurred_at > limit {
        command.received_at
    } else {
        command.occurred_at
    }
}

pub fn decide(state: &UserState, command: &CommandEnvelope) -> Decision {
    if let Some(previous) = state.recent_command(command.command_id) {
        return Decision::Duplicate(previous.clone());
    }
    let at = effective_time(command);
    let payloads = match &command.payload {
        CommandPayload::Subscribe { feed, source_id } => {
            let current = state.subscriptions.get(feed);
            let active = current.is_some_and(|s| s.is_active());
            if !active && state.active_subscriptions() >= MAX_SUBSCRIPTIONS {
                return Decision::Rejected(Rejection {
                    code: "limit_exceeded",
                    message: format!("a user may hold at most {MAX_SUBSCRIPTIONS} subscriptions"),
                });
            }
            // Last writer wins on the client's time: a subscribe older than the latest
            // unsubscribe changes nothing (a tie keeps the subscription).
            let stale = current
                .and_then(|s| s.unsubscribed_at)
                .is_some_and(|u| at < u);
            let unchanged = active && current.is_some_and(|s| &s.source_id == source_id);
            if stale || unchanged {
                vec![]
            } else {
                vec![EventPayload::Subscribed {
                    feed: feed.clone(),
                    source_id: source_id.clone(),
                    subscribed_at: at,
                }]
            }
        }
        CommandPayload::Unsubscribe { feed } => match state.subscriptions.get(feed) {
            // Unsubscribing from a feed one does not follow is a no-op: DELETE stays idempotent.
            Some(s) if s.is_active() && s.subscribed_at.is_some_and(|t| at > t) => {
                vec![EventPayload::Unsubscribed {
                    feed: feed.clone(),
                    unsubscribed_at: at,
                }]
            }
            _ => vec![],
        },
    };
    Decision::Accepted(
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
            .collect(),
    )
}
