//! Soft and permanent deletes, with Confluent's two-step rule: a version (or subject) must be
//! soft-deleted before it can be deleted permanently, so that an operator cannot lose a schema
//! that producers still use by a single mistaken call.

use sqlx::{PgConnection, PgPool};

use crate::domain::{Subject, VersionSelector};
use crate::error::RegistryError;
use crate::store::register::lock_subject;

/// `(version, deleted)` of every row of the subject, ascending; 40401 when there is none.
async fn rows(
    conn: &mut PgConnection,
    subject: &Subject,
) -> Result<Vec<(i32, bool)>, RegistryError> {
    let rows: Vec<(i32, bool)> = sqlx::query_as(
        "SELECT version, deleted FROM registry.versions WHERE subject = $1 ORDER BY version",
    )
    .bind(subject.as_str())
    .fetch_all(conn)
    .await?;
    if rows.is_empty() {
        return Err(RegistryError::SubjectNotFound(subject.to_string()));
    }
    Ok(rows)
}

/// Deletes every version of the subject and returns the versions deleted.
pub async fn subject(
    pool: &PgPool,
    subject: &Subject,
    permanent: bool,
) -> Result<Vec<i32>, RegistryError> {
    let mut tx = pool.begin().await?;
    lock_subject(&mut tx, subject).await?;
    let rows = rows(&mut tx, subject).await?;
    let live: Vec<i32> = rows.iter().filter(|r| !r.1).map(|r| r.0).collect();
    let deleted = if permanent {
        if !live.is_empty() {
            return Err(RegistryError::SubjectNotSoftDeleted(subject.to_string()));
        }
        sqlx::query("DELETE FROM registry.versions WHERE subject = $1")
            .bind(subject.as_str())
            .execute(&mut *tx)
            .await?;
        // A subject that is gone keeps no settings behind, as in Confluent.
        sqlx::query("DELETE FROM registry.config WHERE subject = $1")
            .bind(subject.as_str())
            .execute(&mut *tx)
            .await?;
        rows.iter().map(|r| r.0).collect()
    } else {
        if live.is_empty() {
            return Err(RegistryError::SubjectSoftDeleted(subject.to_string()));
        }
        sqlx::query("UPDATE registry.versions SET deleted = true WHERE subject = $1")
            .bind(subject.as_str())
            .execute(&mut *tx)
            .await?;
        live
    };
    tx.commit().await?;
    tracing::info!(subject = %subject, permanent, versions = ?deleted, "subject deleted");
    Ok(deleted)
}

/// Deletes one version and returns its number. `latest` designates the latest live version for a
/// soft delete and the latest soft-deleted one for a permanent delete.
pub async fn version(
    pool: &PgPool,
    subject: &Subject,
    selector: VersionSelector,
    permanent: bool,
) -> Result<i32, RegistryError> {
    let mut tx = pool.begin().await?;
    lock_subject(&mut tx, subject).await?;
    let rows = rows(&mut tx, subject).await?;
    let found = match selector {
        VersionSelector::Latest => rows.iter().rev().find(|r| r.1 == permanent),
        VersionSelector::Number(n) => rows.iter().find(|r| r.0 == n),
    };
    let Some(&(version, deleted)) = found else {
        return Err(RegistryError::VersionNotFound {
            subject: subject.to_string(),
            version: match selector {
                VersionSelector::Latest => -1,
                VersionSelector::Number(n) => n,
            },
        });
    };
    let (sql, refusal) = if permanent {
        (
            "DELETE FROM registry.versions WHERE subject = $1 AND version = $2",
            (!deleted).then(|| RegistryError::VersionNotSoftDeleted {
                subject: subject.to_string(),
                version,
            }),
        )
    } else {
        (
            "UPDATE registry.versions SET deleted = true WHERE subject = $1 AND version = $2",
            deleted.then(|| RegistryError::VersionSoftDeleted {
                subject: subject.to_string(),
                version,
            }),
        )
    };
    if let Some(refusal) = refusal {
        return Err(refusal);
    }
    sqlx::query(sql)
        .bind(subject.as_str())
        .bind(version)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(subject = %subject, version, permanent, "subject version deleted");
    Ok(version)
}
