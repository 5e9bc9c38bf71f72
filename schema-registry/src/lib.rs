//! A Confluent-compatible schema registry (Avro only) stored in PostgreSQL.
//!
//! No Confluent registry can be installed where Balados Sync is developed and tested (docs/broker-compatibility.md), yet producers
//! and consumers use the Confluent wire format and Confluent clients (`schema_registry_converter`,
//! Python `confluent_kafka`). This crate serves the subset of the REST API those clients call,
//! with Confluent's ids, versions, compatibility levels and error codes, so they work unchanged.
//! Reads are open; writes need the operator's credential (see [`WriteAccess`]).

mod compat;
mod domain;
mod error;
mod operator;
mod routes;
mod schema;
mod store;

use std::sync::Arc;

use sqlx::PgPool;
use sqlx::pool::PoolConnection;
use tokio::net::TcpListener;

pub use compat::CompatibilityLevel;
pub use error::RegistryError;
pub use operator::{OperatorCredential, WriteAccess};
pub use routes::router;

/// The registry service: a handle on its PostgreSQL pool and who may write, cheap to clone.
#[derive(Debug, Clone)]
pub struct Registry {
    pool: PgPool,
    writes: Arc<WriteAccess>,
}

impl Registry {
    /// Creates the registry's tables in their own `registry` schema if they do not exist yet.
    /// Safe to run at every start, from several processes at once.
    pub async fn migrate(pool: &PgPool) -> Result<(), RegistryError> {
        store::migrate::migrate(pool).await
    }

    /// `writes` has no open variant: a registry without an operator credential refuses writes.
    pub fn new(pool: PgPool, writes: WriteAccess) -> Self {
        Self {
            pool,
            writes: Arc::new(writes),
        }
    }

    pub(crate) fn writes(&self) -> &WriteAccess {
        &self.writes
    }

    pub(crate) fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub(crate) async fn conn(&self) -> Result<PoolConnection<sqlx::Postgres>, RegistryError> {
        Ok(self.pool.acquire().await?)
    }
}

/// Serves the registry on an already bound listener (port 0 in tests) until the task is dropped.
pub async fn serve(listener: TcpListener, registry: Registry) -> std::io::Result<()> {
    axum::serve(listener, router(registry)).await
}
