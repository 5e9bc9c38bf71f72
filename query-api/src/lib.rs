//! The read API over the PostgreSQL read models: a user's own data behind the JWT, public
//! statistics without it (shared for a moment by every reader: `public_cache`), and
//! read-your-writes with a command's consistency token.

pub mod consistency;
pub mod cursor;
pub mod public_cache;
mod routes;
pub mod toplist;

pub use consistency::Consistency;
pub use public_cache::PublicCache;
pub use routes::router;

use balados_auth::TokenVerifier;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct QueryState {
    pub pool: sqlx::PgPool,
    pub verifier: Arc<dyn TokenVerifier>,
    pub consistency: Consistency,
    pub public_cache: PublicCache,
}

impl balados_platform::http::Verifies for QueryState {
    fn verifier(&self) -> &dyn TokenVerifier {
        self.verifier.as_ref()
    }
}
