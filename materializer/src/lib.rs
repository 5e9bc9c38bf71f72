//! The materializer: events → PostgreSQL read models. `apply` is the pure part (which rows a
//! batch of events changes, replays dropped by per-user sequence); `sink` writes a batch and its
//! offsets in one transaction; `runner` is the consumer loop.

pub mod apply;
mod decode;
pub mod grow;
mod lanes;
pub mod outcomes;
pub mod prune;
pub mod quarantine;
pub mod rebuild;
mod refused;
pub mod relay;
pub mod repair;
pub mod replay_user;
pub mod runner;
pub mod sink;
mod writers;

pub use runner::run;

/// The read-model migrations (schemas `users` and `materializer`).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
