//! The read API over the PostgreSQL read models: a user's own data behind the JWT.

mod routes;

pub use routes::router;

use balados_auth::TokenVerifier;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct QueryState {
    pub pool: sqlx::PgPool,
    pub verifier: Arc<dyn TokenVerifier>,
}
