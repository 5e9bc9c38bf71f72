//! The user aggregate, pure: `decide` turns a command and the current state into events or a
//! rejection; `evolve` applies an event. No clock, no randomness, no I/O: times come from the
//! command's envelope and ids are derived from the command id, so reprocessing a command from the
//! same state yields byte-identical events.

mod decide;
mod state;

pub use decide::{Decision, MAX_CLOCK_SKEW, MAX_SUBSCRIPTIONS, Rejection, decide};
pub use state::{RECENT_COMMANDS, Subscription, UserState, evolve};

#[cfg(test)]
mod tests;
