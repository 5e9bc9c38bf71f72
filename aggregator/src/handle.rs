//! One command, start to end, without I/O: decide, apply, and say what must be written — the
//! events, the changed state records and the outcome.

use crate::deletion::{deletes_account, tombstones};
use crate::store::{StateWrite, apply_and_collect, meta_write};
use balados_domain::{Decision, Rejection, UserState, decide, is_clamped};
use balados_schemas::{CommandEnvelope, CommandResult, EventEnvelope, RecentCommand};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handled {
    pub events: Vec<EventEnvelope>,
    pub records: Vec<StateWrite>,
    pub result: CommandResult,
}

/// Handles `command`, read at `offset` of `partition`, against `state` (updated in place).
pub fn handle(
    state: &mut UserState,
    command: &CommandEnvelope,
    partition: i32,
    offset: i64,
) -> Handled {
    let mut result = new_result(command, partition);
    match decide(state, command) {
        Decision::Duplicate(previous) => {
            result.duplicate = true;
            result.rejection_code = previous.rejection_code;
            result.first_sequence = previous.first_sequence;
            result.event_count = previous.event_count;
            Handled {
                events: vec![],
                records: vec![],
                result,
            }
        }
        Decision::Rejected(rejection) => rejected(state, command, result, rejection, offset),
        // A repeated deletion (`decide` emits nothing else for a deleted user): its records are
        // final, so nothing is written, not even the command's id.
        Decision::Accepted(events) if state.deleted => Handled {
            events,
            records: vec![],
            result,
        },
        Decision::Accepted(events) => {
            let user = &command.user_id;
            // A deletion tombstones every entity of the user, found before evolve forgets them;
            // the meta record is kept, marked deleted (see `deletion`).
            let mut records = if deletes_account(&events) {
                tombstones(state, user, offset)
            } else {
                Vec::new()
            };
            records.extend(apply_and_collect(state, user, &events, offset));
            result.first_sequence = events.first().map_or(0, |e| e.sequence);
            result.event_count = u32::try_from(events.len()).unwrap_or(u32::MAX);
            state.remember(RecentCommand {
                command_id: command.command_id,
                rejection_code: None,
                first_sequence: result.first_sequence,
                event_count: result.event_count,
            });
            records.push(meta_write(state, user, offset));
            Handled {
                events,
                records,
                result,
            }
        }
    }
}

/// Decides `command` as refused with `rejection`, whatever `decide` would say: a command whose
/// outputs the aggregator cannot write (a record over the broker's size limit) is refused rather
/// than retried for ever. A retry of it gets the same answer.
pub fn refuse(
    state: &mut UserState,
    command: &CommandEnvelope,
    partition: i32,
    offset: i64,
    rejection: Rejection,
) -> Handled {
    if let Decision::Duplicate(_) = decide(state, command) {
        return handle(state, command, partition, offset);
    }
    rejected(
        state,
        command,
        new_result(command, partition),
        rejection,
        offset,
    )
}

fn rejected(
    state: &mut UserState,
    command: &CommandEnvelope,
    mut result: CommandResult,
    rejection: Rejection,
    offset: i64,
) -> Handled {
    let code = rejection.code.as_str().to_owned();
    result.rejection_code = Some(code.clone());
    result.message = Some(rejection.message);
    if state.deleted {
        // Answered, not remembered: a deleted user's records are final (a retry is refused
        // again, the same way).
        return Handled {
            events: vec![],
            records: vec![],
            result,
        };
    }
    state.remember(RecentCommand {
        command_id: command.command_id,
        rejection_code: Some(code),
        first_sequence: 0,
        event_count: 0,
    });
    Handled {
        events: vec![],
        records: vec![meta_write(state, &command.user_id, offset)],
        result,
    }
}

fn new_result(command: &CommandEnvelope, partition: i32) -> CommandResult {
    CommandResult {
        command_id: command.command_id,
        user_id: command.user_id.clone(),
        rejection_code: None,
        message: None,
        duplicate: false,
        first_sequence: 0,
        event_count: 0,
        events_partition: partition,
        // Known once the events are delivered (see `batch`).
        events_next_offset: -1,
        clamped: is_clamped(command),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use balados_schemas::{CommandPayload, FeedUrl, UserId};
    use chrono::Utc;

    fn subscribe() -> CommandEnvelope {
        CommandEnvelope {
            command_id: uuid::Uuid::new_v4(),
            user_id: UserId::parse("u").expect("valid"),
            occurred_at: Utc::now(),
            received_at: Utc::now(),
            app_id: None,
            device_id: None,
            device_name: None,
            reply_to: None,
            payload: CommandPayload::Subscribe {
                feed: FeedUrl::parse("https://e.com/f").expect("valid"),
                source_id: None,
            },
        }
    }

    #[test]
    fn an_accepted_command_writes_its_events_the_entity_and_the_meta_record() {
        let mut state = UserState::default();
        let h = handle(&mut state, &subscribe(), 3, 41);
        // The subscription, and the default collection created with the first one.
        assert_eq!(h.events.len(), 3);
        assert_eq!(h.records.len(), 3, "subscription, collection, meta");
        assert!(h.records.iter().all(|w| w.source_offset == 41));
        assert_eq!(
            (
                h.result.first_sequence,
                h.result.event_count,
                h.result.events_partition
            ),
            (1, 3, 3)
        );
    }

    #[test]
    fn a_retried_command_writes_nothing_and_repeats_its_outcome() {
        let mut state = UserState::default();
        let command = subscribe();
        let first = handle(&mut state, &command, 0, 1);
        let again = handle(&mut state, &command, 0, 2);
        assert!(again.events.is_empty() && again.records.is_empty());
        assert!(again.result.duplicate);
        assert_eq!(again.result.first_sequence, first.result.first_sequence);
        assert_eq!(state.sequence, 3);
    }
}
