//! The write API: validates requests and tokens, turns them into commands and produces them to
//! `commands`, keyed by user id. A command is accepted (202) once the broker has acknowledged it.

mod producer;
mod routes;

pub use producer::{CommandProducer, ProduceError};
pub use routes::router;

use balados_auth::TokenVerifier;
use balados_platform::metrics::Metrics;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct IngestState {
    pub producer: CommandProducer,
    pub verifier: Arc<dyn TokenVerifier>,
    pub metrics: Metrics,
    /// This instance's reply address on `command-results` (outcomes are keyed by it).
    pub reply_to: String,
}
