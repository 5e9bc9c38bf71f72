//! The write API: validates requests and tokens, turns them into commands and produces them to
//! `commands`, keyed by user id. A command is accepted (202) once the broker has acknowledged it;
//! with `Prefer: wait=N` the answer is the command's outcome, read from `command-results`.

mod idempotency;
pub mod opml_import;
pub mod prefer;
mod producer;
mod replies;
pub mod retired;
mod routes;

pub use producer::{CommandProducer, CommandSink, ProduceError};
pub use replies::Replies;
pub use routes::sync::{SyncState, router as sync_router};
pub use routes::{Origin, router, submit_for_user};

use balados_auth::TokenVerifier;
use balados_platform::metrics::Metrics;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct IngestState {
    /// Where commands go: the broker in a process, a recorder in the HTTP layer's tests.
    pub producer: Arc<dyn CommandSink>,
    pub verifier: Arc<dyn TokenVerifier>,
    pub metrics: Metrics,
    /// This instance's outcomes, read from its partition of `command-results`.
    pub replies: Replies,
    /// The writes budget the verifier admits callers in, to charge a batch for its commands.
    pub writes: Option<Arc<balados_platform::fair_use::Budget>>,
}
