//! Unit and property tests of decide/evolve, without I/O: one module per area, sharing these
//! helpers.

mod account;
mod collections;
mod episodes;
mod playlists;
mod privacy_devices;
mod properties;
mod subscriptions;

use super::*;
pub(super) use crate::testing::{feed, item, local, name, secs};
use balados_schemas::{CommandEnvelope, CommandPayload, EventPayload, RecentCommand, UserId};
use chrono::{DateTime, TimeZone as _, Utc};
use uuid::Uuid;

pub(super) fn t(s: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + s, 0)
        .single()
        .expect("in range")
}

pub(super) fn command(payload: CommandPayload, at: i64) -> CommandEnvelope {
    CommandEnvelope {
        command_id: Uuid::new_v4(),
        user_id: UserId::parse("u").expect("valid"),
        occurred_at: t(at),
        received_at: t(at),
        app_id: None,
        device_id: None,
        device_name: None,
        reply_to: None,
        payload,
    }
}

pub(super) fn subscribe(n: u32, at: i64) -> CommandEnvelope {
    command(
        CommandPayload::Subscribe {
            feed: feed(n),
            source_id: None,
        },
        at,
    )
}

pub(super) fn unsubscribe(n: u32, at: i64) -> CommandEnvelope {
    command(CommandPayload::Unsubscribe { feed: feed(n) }, at)
}

/// Decides and applies, as the aggregator does; returns the events.
pub(super) fn run(state: &mut UserState, cmd: &CommandEnvelope) -> Decision {
    let decision = decide(state, cmd);
    if state.deleted {
        // The aggregator writes nothing for a deleted user, not even the command's id.
        return decision;
    }
    let (rejection_code, events) = match &decision {
        Decision::Accepted(events) => (None, events.clone()),
        Decision::Rejected(r) => (Some(r.code.as_str().to_owned()), vec![]),
        Decision::Duplicate(_) => return decision,
    };
    let first_sequence = events.first().map_or(0, |e| e.sequence);
    *state = events.iter().fold(std::mem::take(state), evolve);
    state.remember(RecentCommand {
        command_id: cmd.command_id,
        rejection_code,
        first_sequence,
        event_count: u32::try_from(events.len()).expect("small"),
    });
    decision
}

pub(super) fn events(decision: &Decision) -> Vec<EventPayload> {
    match decision {
        Decision::Accepted(events) => events.iter().map(|e| e.payload.clone()).collect(),
        other => panic!("expected accepted, got {other:?}"),
    }
}

/// The subscription events alone (a subscribe also maintains the default collection).
pub(super) fn subscription_events(decision: &Decision) -> Vec<EventPayload> {
    events(decision)
        .into_iter()
        .filter(|e| {
            matches!(
                e,
                EventPayload::Subscribed { .. } | EventPayload::Unsubscribed { .. }
            )
        })
        .collect()
}

/// The rejection code, or a panic naming what was decided instead.
pub(super) fn rejected(decision: &Decision) -> &'static str {
    match decision {
        Decision::Rejected(r) => r.code.as_str(),
        other => panic!("expected a rejection, got {other:?}"),
    }
}
