//! The state of one user and how events change it.

use balados_schemas::{EventEnvelope, EventPayload, FeedUrl, RecentCommand};
use chrono::{DateTime, Utc};
use std::collections::{HashMap, VecDeque};

/// How many processed command ids a user remembers for idempotent retries. Every command rewrites
/// the meta record that holds them, so this bounds its size (~40 bytes each).
pub const RECENT_COMMANDS: usize = 32;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserState {
    /// Sequence of the last event (0 before any).
    pub sequence: u64,
    pub recent: VecDeque<RecentCommand>,
    pub subscriptions: HashMap<FeedUrl, Subscription>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subscription {
    pub source_id: Option<String>,
    pub subscribed_at: Option<DateTime<Utc>>,
    pub unsubscribed_at: Option<DateTime<Utc>>,
}

impl Subscription {
    /// Active when subscribed and not unsubscribed since (a tie keeps it subscribed).
    pub fn is_active(&self) -> bool {
        match (self.subscribed_at, self.unsubscribed_at) {
            (Some(_), None) => true,
            (Some(s), Some(u)) => s >= u,
            (None, _) => false,
        }
    }
}

impl UserState {
    pub fn active_subscriptions(&self) -> usize {
        self.subscriptions
            .values()
            .filter(|s| s.is_active())
            .count()
    }

    pub fn recent_command(&self, command_id: uuid::Uuid) -> Option<&RecentCommand> {
        self.recent.iter().find(|c| c.command_id == command_id)
    }

    /// Remembers a processed command, forgetting the oldest beyond [`RECENT_COMMANDS`].
    pub fn remember(&mut self, command: RecentCommand) {
        if self.recent.len() >= RECENT_COMMANDS {
            self.recent.pop_front();
        }
        self.recent.push_back(command);
    }
}

/// Applies one event. Events are applied in sequence order; the sequence is taken from the event.
pub fn evolve(mut state: UserState, event: &EventEnvelope) -> UserState {
    state.sequence = event.sequence;
    match &event.payload {
        EventPayload::Subscribed {
            feed,
            source_id,
            subscribed_at,
        } => {
            let sub = state.subscriptions.entry(feed.clone()).or_default();
            sub.subscribed_at = Some(*subscribed_at);
            sub.source_id.clone_from(source_id);
        }
        EventPayload::Unsubscribed {
            feed,
            unsubscribed_at,
        } => {
            let sub = state.subscriptions.entry(feed.clone()).or_default();
            sub.unsubscribed_at = Some(*unsubscribed_at);
        }
    }
    state
}
