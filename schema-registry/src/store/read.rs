//! Read-only queries: schemas by id, subjects, versions and look-ups.
//!
//! `include_deleted` is Confluent's `?deleted=true`: soft-deleted versions are otherwise invisible.

use sqlx::PgConnection;

use crate::domain::{Subject, VersionSelector};
use crate::error::RegistryError;

/// One version of a subject with its schema, as the `/versions/{v}` and look-up answers need it.
#[derive(Debug, sqlx::FromRow)]
pub struct VersionRow {
    pub version: i32,
    pub id: i32,
    pub schema: String,
}

/// The schema text of a global id, if some version (even soft-deleted) still uses it; after a
/// permanent delete of its last version the id is unknown, as in Confluent.
pub async fn schema_by_id(conn: &mut PgConnection, id: i32) -> Result<String, RegistryError> {
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT s.schema FROM registry.schemas s
         WHERE s.id = $1 AND EXISTS (SELECT 1 FROM registry.versions v WHERE v.schema_id = s.id)",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.map(|(schema,)| schema)
        .ok_or(RegistryError::SchemaIdNotFound(id))
}

/// The `(subject, version)` pairs that use a schema id.
pub async fn versions_of_schema(
    conn: &mut PgConnection,
    id: i32,
    include_deleted: bool,
) -> Result<Vec<(String, i32)>, RegistryError> {
    schema_by_id(conn, id).await?;
    let rows = sqlx::query_as(
        "SELECT subject, version FROM registry.versions
         WHERE schema_id = $1 AND (NOT deleted OR $2) ORDER BY subject, version",
    )
    .bind(id)
    .bind(include_deleted)
    .fetch_all(conn)
    .await?;
    Ok(rows)
}

pub async fn subjects(
    conn: &mut PgConnection,
    include_deleted: bool,
) -> Result<Vec<String>, RegistryError> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT DISTINCT subject FROM registry.versions WHERE NOT deleted OR $1 ORDER BY subject",
    )
    .bind(include_deleted)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|(s,)| s).collect())
}

/// The subject's version numbers, ascending; 40401 when it has none visible.
pub async fn versions(
    conn: &mut PgConnection,
    subject: &Subject,
    include_deleted: bool,
) -> Result<Vec<i32>, RegistryError> {
    let rows: Vec<(i32,)> = sqlx::query_as(
        "SELECT version FROM registry.versions
         WHERE subject = $1 AND (NOT deleted OR $2) ORDER BY version",
    )
    .bind(subject.as_str())
    .bind(include_deleted)
    .fetch_all(conn)
    .await?;
    if rows.is_empty() {
        return Err(RegistryError::SubjectNotFound(subject.to_string()));
    }
    Ok(rows.into_iter().map(|(v,)| v).collect())
}

/// One version; 40401 when the subject has no visible version, 40402 when this one is missing.
pub async fn version(
    conn: &mut PgConnection,
    subject: &Subject,
    selector: VersionSelector,
    include_deleted: bool,
) -> Result<VersionRow, RegistryError> {
    let wanted = match selector {
        VersionSelector::Latest => None,
        VersionSelector::Number(n) => Some(n),
    };
    let row: Option<VersionRow> = sqlx::query_as(
        "SELECT v.version, v.schema_id AS id, s.schema
         FROM registry.versions v JOIN registry.schemas s ON s.id = v.schema_id
         WHERE v.subject = $1 AND (NOT v.deleted OR $2) AND ($3::integer IS NULL OR v.version = $3)
         ORDER BY v.version DESC LIMIT 1",
    )
    .bind(subject.as_str())
    .bind(include_deleted)
    .bind(wanted)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(row) => Ok(row),
        None => {
            // Distinguish an unknown subject from an unknown version of a known one.
            versions(conn, subject, include_deleted).await?;
            Err(RegistryError::VersionNotFound {
                subject: subject.to_string(),
                version: wanted.unwrap_or(-1),
            })
        }
    }
}

/// The latest version of the subject whose schema has this identity; 40401 / 40403 otherwise.
pub async fn lookup(
    conn: &mut PgConnection,
    subject: &Subject,
    normalized: &str,
    include_deleted: bool,
) -> Result<VersionRow, RegistryError> {
    let row: Option<VersionRow> = sqlx::query_as(
        "SELECT v.version, v.schema_id AS id, s.schema
         FROM registry.versions v JOIN registry.schemas s ON s.id = v.schema_id
         WHERE v.subject = $1 AND (NOT v.deleted OR $2) AND s.normalized = $3
         ORDER BY v.version DESC LIMIT 1",
    )
    .bind(subject.as_str())
    .bind(include_deleted)
    .bind(normalized)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(row) => Ok(row),
        None => {
            versions(conn, subject, include_deleted).await?;
            Err(RegistryError::SchemaNotFound)
        }
    }
}
