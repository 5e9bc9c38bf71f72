//! The aggregator: owns all per-user state, enforces the invariants (the pure `balados_domain`
//! crate, and `handle`),
//! restores state from the compacted `user-state` topic (`store`, `restore`) and runs the
//! exactly-once consume-transform-produce loop (`runner`, `batch`).

mod batch;
pub mod deletion;
pub mod handle;
mod output;
pub mod partitions;
pub mod restore;
pub mod runner;
pub mod store;

pub use runner::run;
