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

pub use idempotency::keyed_command_id;
pub use producer::{CommandProducer, CommandSink, ProduceError};
pub use replies::Replies;
pub use routes::ids::{parse_feed, parse_item};
pub use routes::sync::{SyncState, router as sync_router};
pub use routes::{Origin, router, submit_for_user, submit_once};

use balados_auth::TokenVerifier;
use balados_platform::http::ApiError;
use balados_platform::metrics::Metrics;
use balados_schemas::UserId;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct IngestState {
    /// Where commands go: the broker in a process, a recorder in the HTTP layer's tests.
    pub producer: Arc<dyn CommandSink>,
    pub verifier: Arc<dyn TokenVerifier>,
    pub metrics: Metrics,
    /// This instance's outcomes, read from its partition of `command-results`.
    pub replies: Replies,
    /// The writes budget the verifier admits callers in, to charge a batch for its commands and
    /// to pace the writers without a token (gpodder, Nextcloud, the account's pages).
    pub writes: Option<Arc<balados_platform::fair_use::Budget>>,
}

/// How long a writer without a token waits for its writes budget before a 429: less than a
/// client's usual read timeout (30 s and more), ample for a sustained sync's next batch.
pub const PACING_PATIENCE: Duration = Duration::from_secs(10);

impl IngestState {
    /// Charges a request's `commands` to `user`'s writes budget, waiting for it up to
    /// [`PACING_PATIENCE`] (`Budget::pace_user`); free when no budget is set.
    pub async fn pace(&self, user: &UserId, commands: usize) -> Result<(), ApiError> {
        let Some(budget) = &self.writes else {
            return Ok(());
        };
        let cells = u64::try_from(commands).unwrap_or(u64::MAX);
        budget
            .pace_user(user.as_str(), cells, PACING_PATIENCE, &self.metrics)
            .await
    }
}
