//! Compatibility levels, global and per subject.

use sqlx::PgConnection;

use crate::compat::CompatibilityLevel;
use crate::domain::Subject;
use crate::error::RegistryError;

/// Key of the global row in `registry.config`; no subject can be empty.
const GLOBAL: &str = "";

fn key(subject: Option<&Subject>) -> &str {
    subject.map_or(GLOBAL, Subject::as_str)
}

/// A level read back from the store; it was validated when written.
fn decode(raw: &str) -> Result<CompatibilityLevel, RegistryError> {
    raw.parse()
        .map_err(|e: RegistryError| RegistryError::Store(sqlx::Error::Decode(Box::new(e))))
}

/// The level set for the subject, or globally when `subject` is `None`; `None` if never set.
pub async fn get(
    conn: &mut PgConnection,
    subject: Option<&Subject>,
) -> Result<Option<CompatibilityLevel>, RegistryError> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT compatibility FROM registry.config WHERE subject = $1")
            .bind(key(subject))
            .fetch_optional(conn)
            .await?;
    row.map(|(raw,)| decode(&raw)).transpose()
}

pub async fn set(
    conn: &mut PgConnection,
    subject: Option<&Subject>,
    level: CompatibilityLevel,
) -> Result<(), RegistryError> {
    sqlx::query(
        "INSERT INTO registry.config (subject, compatibility) VALUES ($1, $2)
         ON CONFLICT (subject) DO UPDATE SET compatibility = EXCLUDED.compatibility",
    )
    .bind(key(subject))
    .bind(level.as_str())
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes the subject's own level and returns it, so the subject falls back to the global one.
pub async fn delete(
    conn: &mut PgConnection,
    subject: &Subject,
) -> Result<Option<CompatibilityLevel>, RegistryError> {
    let row: Option<(String,)> =
        sqlx::query_as("DELETE FROM registry.config WHERE subject = $1 RETURNING compatibility")
            .bind(subject.as_str())
            .fetch_optional(conn)
            .await?;
    row.map(|(raw,)| decode(&raw)).transpose()
}

/// The global level, or the project default when none was set.
pub async fn global(conn: &mut PgConnection) -> Result<CompatibilityLevel, RegistryError> {
    Ok(get(conn, None)
        .await?
        .unwrap_or(CompatibilityLevel::DEFAULT))
}

/// The level that applies to the subject: its own, else the global one.
pub async fn effective(
    conn: &mut PgConnection,
    subject: &Subject,
) -> Result<CompatibilityLevel, RegistryError> {
    match get(conn, Some(subject)).await? {
        Some(level) => Ok(level),
        None => global(conn).await,
    }
}
