//! Folding a batch of events into row changes, without I/O. Two projections each keep a position
//! per user: the per-user models (`users.*`) and the public ones (`site.*`). An event at or below a
//! projection's position is a replay there (a redelivery, or a copy from an aborted transaction
//! that a broker showed) and is dropped; keys are deduplicated within the batch so that one
//! set-based statement writes each row once.
//!
//! An event beyond a projection's next sequence means that events are missing upstream (a broker
//! that lost acknowledged records). The materializer then holds that user — their later events are
//! not applied, so no read model silently skips a write — until an operator repairs the user from
//! the state records (`balados admin repair-user`); other users flow on.
//!
//! `AccountDeleted` ends a user's stream: whatever the positions (never a replay, never a gap),
//! the user's rows go, their public events are withdrawn with their points, their hold is
//! released, and their positions start again from none, since the same user id starts again at
//! sequence 1. That is exact because the aggregator decides a deletion in a batch of its own: no
//! copy of another event of the user is ever written around it. (A replay of the whole topic from
//! offset 0 applies a deleted user's earlier events again, then the deletion again: the models end
//! the same.)

pub mod credentials;
pub mod lists;
pub mod per_user;
pub mod privacy;
pub mod public;

#[cfg(test)]
mod batching;
#[cfg(test)]
pub(crate) mod tests;

use balados_schemas::{EventEnvelope, EventPayload};
use chrono::TimeDelta;
use lists::Lists;
use per_user::PerUserChanges;
use privacy::PrivacySettings;
use public::{PublicChanges, PublicFold, PublicRow};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// A user's last applied sequence in each projection (0 = none), and the sync position the
/// per-user models have reached (what the gpodder-style APIs answer as `timestamp`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Positions {
    pub per_user: u64,
    pub public: u64,
    pub sync: i64,
}

/// What the sink loads before folding a batch (see [`needs`]).
#[derive(Debug, Default)]
pub struct Loaded {
    pub positions: HashMap<String, Positions>,
    /// Privacy settings of the batch's users, as of their public position.
    pub privacy: HashMap<String, PrivacySettings>,
    /// The stored playlists and collections the batch touches (absent = not stored).
    pub lists: Lists,
    /// Earlier public events of the users who change privacy or remove events in the batch.
    pub earlier: HashMap<String, Vec<PublicRow>>,
    /// The batch's users held at a sequence gap.
    pub held: HashSet<String>,
    /// Which of the batch's [`public::CountKey`]s counted already.
    pub counted: HashSet<public::CountKey>,
}

/// What a sequence gap does to its user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnGap {
    /// Stop applying the user's events (the live materializer).
    Hold,
    /// Apply on (a rebuild's replay, whose retained events may start after a user's first).
    Accept,
}

/// A user's sequence jumped: `found` arrived where `applied + 1` was due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    pub user: String,
    pub applied: u64,
    pub found: u64,
    pub event_id: uuid::Uuid,
    /// The event's index in the folded batch.
    pub index: usize,
}

/// What to load for a batch.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Needs {
    pub users: Vec<String>,
    pub playlists: BTreeSet<(String, String)>,
    pub collections: BTreeSet<(String, String)>,
    /// Users whose earlier public events a privacy change or a removal may revise.
    pub revising: BTreeSet<String>,
    /// The popularity keys of the batch's publishable events.
    pub counting: BTreeSet<public::CountKey>,
}

pub fn needs(events: &[EventEnvelope]) -> Needs {
    let mut needs = Needs::default();
    let mut users = BTreeSet::new();
    for event in events {
        let user = event.user_id.as_str();
        users.insert(user);
        if let Some(key) = public::CountKey::of(event) {
            needs.counting.insert(key);
        }
        match &event.payload {
            EventPayload::PrivacyChanged { .. }
            | EventPayload::EventsRemoved { .. }
            | EventPayload::AccountDeleted {} => {
                needs.revising.insert(user.to_owned());
            }
            payload => match lists::touched(payload) {
                Some((true, id)) => {
                    needs.playlists.insert((user.to_owned(), id.to_owned()));
                }
                Some((false, id)) => {
                    needs.collections.insert((user.to_owned(), id.to_owned()));
                }
                None => {}
            },
        }
    }
    needs.users = users.into_iter().map(str::to_owned).collect();
    needs
}

#[derive(Debug, Default)]
pub struct BatchChanges {
    pub per_user: PerUserChanges,
    /// Every list the batch touched, as it ends (`None` = gone).
    pub lists: Lists,
    pub public: PublicChanges,
    /// The privacy settings of the batch's users after it, as the public projection saw them.
    pub privacy_after: HashMap<String, PrivacySettings>,
    /// New positions of the batch's users.
    pub positions: BTreeMap<String, Positions>,
    pub applied: usize,
    pub replays: usize,
    /// Users whose sequence jumped in this batch (an event is missing upstream).
    pub gaps: Vec<Gap>,
    /// Events not applied because their user is held at a gap (the gap's own event included).
    pub held: usize,
    /// Users whose account was deleted in the batch: every stored row of theirs is deleted before
    /// the batch's rows (those of events after the deletion) are written.
    pub deleted: BTreeSet<String>,
}

/// Folds `events` (in partition order) over what was loaded for them. `grace` is how late an
/// event may arrive and still count in its hourly popularity bucket.
pub fn fold(
    events: &[EventEnvelope],
    loaded: Loaded,
    grace: TimeDelta,
    on_gap: OnGap,
) -> BatchChanges {
    let Loaded {
        positions,
        privacy,
        lists,
        mut earlier,
        mut held,
        counted,
    } = loaded;
    let mut changes = BatchChanges {
        lists,
        ..BatchChanges::default()
    };
    let mut public = PublicFold::new(privacy, &mut earlier, counted, grace);
    for (index, event) in events.iter().enumerate() {
        let user = event.user_id.as_str();
        if let EventPayload::AccountDeleted {} = event.payload {
            held.remove(user);
            changes.gaps.retain(|gap| gap.user != user);
            changes.per_user.forget(user);
            changes.lists.forget(user);
            public.delete_account(user);
            changes
                .positions
                .insert(user.to_owned(), Positions::default());
            changes.deleted.insert(user.to_owned());
            changes.applied += 1;
            continue;
        }
        if held.contains(user) {
            changes.held += 1;
            continue;
        }
        let position = changes
            .positions
            .get(user)
            .or_else(|| positions.get(user))
            .copied()
            .unwrap_or_default();
        let to_users = event.sequence > position.per_user;
        let to_public = event.sequence > position.public;
        if !to_users && !to_public {
            changes.replays += 1;
            continue;
        }
        let last = if to_users {
            position.per_user
        } else {
            position.public
        };
        if event.sequence != last + 1 {
            changes.gaps.push(Gap {
                user: user.to_owned(),
                applied: last,
                found: event.sequence,
                event_id: event.event_id,
                index,
            });
            if on_gap == OnGap::Hold {
                held.insert(user.to_owned());
                changes.held += 1;
                continue;
            }
        }
        let mut next = position;
        if to_users {
            changes.per_user.apply(event);
            changes.lists.apply(user, &event.payload);
            next.per_user = event.sequence;
            next.sync = next.sync.max(event.sync_position);
        }
        if to_public {
            public.apply(event);
            next.public = event.sequence;
        }
        changes.positions.insert(user.to_owned(), next);
        changes.applied += 1;
    }
    changes.public = public.changes;
    changes.privacy_after = public.settings;
    changes
}
