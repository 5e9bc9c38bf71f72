//! PostgreSQL connection with retry: a database that is down at start-up is reported, with the
//! setting to check, and waited for rather than crash-looping.

use crate::settings::DatabaseSettings;
use secrecy::ExposeSecret as _;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use std::time::Duration;

/// `host:port/database` of the configured URL, without the credentials, for messages.
pub fn describe(settings: &DatabaseSettings) -> String {
    match url::Url::parse(settings.url.expose_secret()) {
        Ok(u) => format!(
            "{}:{}{}",
            u.host_str().unwrap_or("?"),
            u.port().unwrap_or(5432),
            u.path()
        ),
        Err(_) => "<invalid database.url>".to_owned(),
    }
}

/// Which pool: each has its own connections and statement timeout, so that a crowd of readers
/// never takes the connections the writers need, nor a slow read runs for ever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Materializers, relay, pruning, admin commands.
    Writer,
    /// The query API.
    Reader,
}

pub fn pool_options(settings: &DatabaseSettings, role: Role) -> PgPoolOptions {
    let (max, timeout_ms) = match role {
        Role::Writer => (
            settings.max_connections,
            settings.write_statement_timeout_ms,
        ),
        Role::Reader => (
            settings.read_max_connections,
            settings.read_statement_timeout_ms,
        ),
    };
    PgPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(10))
        .after_connect(move |conn, _| {
            Box::pin(async move {
                sqlx::query("SELECT set_config('statement_timeout', $1, false)")
                    .bind(format!("{timeout_ms}ms"))
                    .execute(conn)
                    .await
                    .map(|_| ())
            })
        })
}

/// Connects, retrying with back-off until PostgreSQL answers.
pub async fn connect_with_retry(settings: &DatabaseSettings, role: Role) -> PgPool {
    let mut delay = Duration::from_millis(500);
    loop {
        match pool_options(settings, role)
            .connect(settings.url.expose_secret())
            .await
        {
            Ok(pool) => return pool,
            Err(e) => tracing::warn!(
                database = %describe(settings),
                error = %e,
                retry_in_ms = delay.as_millis() as u64,
                "PostgreSQL unreachable (setting database.url); retrying"
            ),
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(10));
    }
}
