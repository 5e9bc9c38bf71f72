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

pub fn pool_options(settings: &DatabaseSettings) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(Duration::from_secs(10))
}

/// Connects, retrying with back-off until PostgreSQL answers.
pub async fn connect_with_retry(settings: &DatabaseSettings) -> PgPool {
    let mut delay = Duration::from_millis(500);
    loop {
        match pool_options(settings)
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
