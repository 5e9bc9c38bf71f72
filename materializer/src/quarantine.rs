//! The quarantine for the operator (`balados admin quarantine list | redrive`): the events set
//! aside in `materializer.quarantine`, and their re-drive once the cause is fixed (a materializer
//! that knows a new event branch, a schema registered again, a column PostgreSQL now accepts).
//!
//! A re-drive decodes the event again, then goes by the user's positions (see [`plan`]):
//! - the user is held at a gap, or a projection has not reached the event's sequence: the user's
//!   events are replayed from the event's offset (`replay_user`: the live apply path, sequence
//!   dedup, the gap rule), which applies the event and then the user's events the hold kept back;
//! - both projections are past it (it was refused and stepped over, or the user was repaired
//!   since): applying it now, after later events of the user, could undo them, so the user's
//!   per-user models are rebuilt from the state records instead (`repair_user`), which carry the
//!   event's effect; its public effect (a public event, popularity points) comes back only with
//!   `admin rebuild`.
//!
//! The row is deleted once the event is applied (or the user repaired); one that still fails stays
//! with its new reason. Running it twice is harmless: an applied event is a replay the second time.

mod store;

pub use store::{Row, list};

use crate::refused::refused_data;
use crate::replay_user::{positions, replay_user};
use balados_platform::Settings;
use balados_platform::kafka::inspect::Inspector;
use balados_schemas::{Codec, EventEnvelope, UserId};
use sqlx::PgPool;
use std::collections::{HashMap, HashSet};
use store::{event_of, gap_of, settle};

/// What a re-drive does with a decoded event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Replay the user's events from the event's offset.
    Replay,
    /// Rebuild the user's per-user models from the state records.
    Repair,
}

/// The plan for an event of `sequence`, given the user's (per-user, public) positions and whether
/// the user is held at a gap.
pub fn plan(sequence: u64, positions: Option<(u64, u64)>, held: bool) -> Plan {
    let (per_user, public) = positions.unwrap_or_default();
    if held || sequence > per_user || sequence > public {
        Plan::Replay
    } else {
        Plan::Repair
    }
}

/// What became of one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redriven {
    /// Applied (or moot: the account was deleted since); the row is deleted.
    Applied { user: String, sequence: u64 },
    /// The user's per-user models rebuilt from `state_records`; the row is deleted.
    Repaired {
        user: String,
        sequence: u64,
        state_records: u64,
    },
    /// Not applied: the user is held at a gap before it (last applied, found); the row stays.
    Held {
        user: String,
        sequence: u64,
        gap: (i64, i64),
    },
    /// Fails again; the row stays with this reason.
    StillFailing { reason: String },
    /// A dry run: what would be done.
    WouldDo {
        user: String,
        sequence: u64,
        plan: Plan,
    },
    /// Left alone (another deployment's topic).
    Skipped { why: String },
}

/// Re-drives the rows at `ids` (partition, offset of this deployment's `events`), or all of them.
pub async fn redrive(
    settings: &Settings,
    pool: &PgPool,
    codec: &Codec,
    ids: Option<&[(i32, i64)]>,
    dry_run: bool,
) -> anyhow::Result<Vec<(Row, Redriven)>> {
    let topic = settings.topics().events;
    let mut rows = list(pool, i64::MAX).await?;
    rows.retain(|r| {
        ids.is_none_or(|ids| r.topic == topic && ids.contains(&(r.partition, r.offset)))
    });
    rows.sort_by_key(|r| (r.topic.clone(), r.partition, r.offset));
    let inspector = Inspector::new(&settings.kafka, "balados-quarantine")?;
    let mut run = Run::default();
    let mut done = Vec::with_capacity(rows.len());
    for row in rows {
        if row.topic != topic {
            let why = format!("another deployment's topic (this one reads {topic})");
            done.push((row, Redriven::Skipped { why }));
            continue;
        }
        let outcome = match event_of(pool, codec, &inspector, &row).await? {
            Err(reason) => Redriven::StillFailing { reason },
            Ok(event) if dry_run => {
                let user = event.user_id.as_str();
                let held = gap_of(pool, user).await?.is_some();
                Redriven::WouldDo {
                    user: user.to_owned(),
                    sequence: event.sequence,
                    plan: plan(event.sequence, positions(pool, user).await?, held),
                }
            }
            Ok(event) => redrive_one(settings, pool, codec, &row, &event, &mut run).await?,
        };
        if !dry_run {
            settle(pool, &row, &outcome).await?;
        }
        done.push((row, outcome));
    }
    Ok(done)
}

/// What the replays of a run found: a replay covers the user's later rows too.
#[derive(Debug, Default)]
struct Run {
    /// Users replayed, and from which offset.
    replayed: HashMap<String, i64>,
    /// Events that failed again in a replay, by (partition, offset).
    failures: HashMap<(i32, i64), String>,
    /// Users whose account deletion a replay applied: their earlier events are moot.
    deleted: HashSet<String>,
}

async fn redrive_one(
    settings: &Settings,
    pool: &PgPool,
    codec: &Codec,
    row: &Row,
    event: &EventEnvelope,
    run: &mut Run,
) -> anyhow::Result<Redriven> {
    let user = event.user_id.as_str().to_owned();
    let sequence = event.sequence;
    let held = gap_of(pool, &user).await?.is_some();
    match plan(sequence, positions(pool, &user).await?, held) {
        Plan::Replay => {
            if run
                .replayed
                .get(&user)
                .is_none_or(|from| *from > row.offset)
            {
                let report = replay_user(
                    settings,
                    pool,
                    codec,
                    &user,
                    row.partition,
                    Some(row.offset),
                )
                .await?;
                for (offset, reason) in report.undecodable.iter().chain(&report.refused) {
                    run.failures
                        .insert((row.partition, *offset), reason.clone());
                }
                if report.deleted {
                    run.deleted.insert(user.clone());
                }
                run.replayed.insert(user.clone(), row.offset);
            }
            if let Some(reason) = run.failures.get(&(row.partition, row.offset)) {
                return Ok(Redriven::StillFailing {
                    reason: reason.clone(),
                });
            }
            let reached = positions(pool, &user).await?.unwrap_or_default();
            if (reached.0 >= sequence && reached.1 >= sequence) || run.deleted.contains(&user) {
                return Ok(Redriven::Applied { user, sequence });
            }
            let gap = gap_of(pool, &user).await?.unwrap_or_default();
            Ok(Redriven::Held {
                user,
                sequence,
                gap,
            })
        }
        Plan::Repair => {
            let id = UserId::parse(&user).map_err(|e| anyhow::anyhow!("user {user:?}: {e}"))?;
            match crate::repair::repair_user(settings, pool, codec, &id).await {
                Ok(repaired) => Ok(Redriven::Repaired {
                    user,
                    sequence,
                    state_records: repaired.state_records,
                }),
                Err(e) if e.downcast_ref::<sqlx::Error>().is_some_and(refused_data) => {
                    Ok(Redriven::StillFailing {
                        reason: format!("refused by PostgreSQL: {e}"),
                    })
                }
                Err(e) => Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_a_projection_has_not_reached_is_replayed() {
        assert_eq!(plan(5, Some((4, 4)), false), Plan::Replay, "the next one");
        assert_eq!(
            plan(5, None, false),
            Plan::Replay,
            "a user without positions"
        );
        assert_eq!(plan(5, Some((5, 4)), false), Plan::Replay, "public behind");
        // Beyond the next: the replay finds the gap and holds the user, as live.
        assert_eq!(plan(9, Some((4, 4)), false), Plan::Replay);
    }

    #[test]
    fn a_held_user_is_replayed_whatever_the_positions() {
        assert_eq!(plan(5, Some((4, 4)), true), Plan::Replay);
        assert_eq!(plan(3, Some((4, 4)), true), Plan::Replay);
    }

    #[test]
    fn an_event_both_projections_are_past_is_repaired_from_state() {
        assert_eq!(plan(5, Some((5, 5)), false), Plan::Repair, "stepped over");
        assert_eq!(plan(5, Some((9, 9)), false), Plan::Repair, "repaired since");
    }
}
