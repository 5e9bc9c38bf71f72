//! Registering a schema under a subject: identity, compatibility, id and version allocation.
//!
//! Concurrency: the whole decision runs in one transaction holding an advisory lock per subject,
//! so two racing registrations of one subject are serialized (no duplicate version). Global ids
//! are shared across subjects through a unique index on the schema's identity: a racing insert
//! of the same schema under another subject waits for the first and then reads its id.

use sqlx::{PgConnection, PgPool};

use crate::compat::{self, Earlier};
use crate::domain::Subject;
use crate::error::RegistryError;
use crate::schema::{ParsedSchema, parse_stored};
use crate::store::config;

/// Takes the subject's lock until the end of the transaction.
pub async fn lock_subject(conn: &mut PgConnection, subject: &Subject) -> Result<(), RegistryError> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('balados.schema-registry'), hashtext($1))")
        .bind(subject.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// A live (not soft-deleted) version with what the registration needs to decide.
#[derive(Debug, sqlx::FromRow)]
struct LiveVersion {
    version: i32,
    schema_id: i32,
    normalized: String,
    schema: String,
}

async fn live_versions(
    conn: &mut PgConnection,
    subject: &Subject,
) -> Result<Vec<LiveVersion>, RegistryError> {
    let rows = sqlx::query_as(
        "SELECT v.version, v.schema_id, s.normalized, s.schema
         FROM registry.versions v JOIN registry.schemas s ON s.id = v.schema_id
         WHERE v.subject = $1 AND NOT v.deleted ORDER BY v.version",
    )
    .bind(subject.as_str())
    .fetch_all(conn)
    .await?;
    Ok(rows)
}

/// The live versions of a subject parsed for a compatibility check, oldest first.
pub async fn earlier_schemas(
    conn: &mut PgConnection,
    subject: &Subject,
) -> Result<Vec<Earlier>, RegistryError> {
    parse_earlier(&live_versions(conn, subject).await?)
}

fn parse_earlier(live: &[LiveVersion]) -> Result<Vec<Earlier>, RegistryError> {
    live.iter()
        .map(|v| {
            Ok(Earlier {
                version: v.version,
                schema: parse_stored(&v.schema)?,
            })
        })
        .collect()
}

/// Registers `schema` under `subject` and returns its global id. An identical schema already
/// live in the subject returns that version's id and creates nothing, which makes producers'
/// registration at start-up idempotent.
pub async fn register(
    pool: &PgPool,
    subject: &Subject,
    schema: &ParsedSchema,
) -> Result<i32, RegistryError> {
    let mut tx = pool.begin().await?;
    lock_subject(&mut tx, subject).await?;
    let live = live_versions(&mut tx, subject).await?;
    if let Some(existing) = live.iter().find(|v| v.normalized == schema.normalized) {
        return Ok(existing.schema_id);
    }

    let level = config::effective(&mut tx, subject).await?;
    let earlier = parse_earlier(&live)?;
    let messages = compat::check(level, &schema.schema, &earlier);
    if !messages.is_empty() {
        return Err(RegistryError::Incompatible {
            subject: subject.to_string(),
            messages,
        });
    }

    let id = schema_id(&mut tx, schema).await?;
    // Versions keep counting after soft deletes, as in Confluent, so a number is never reused
    // while the old row can still be read with `?deleted=true`.
    sqlx::query(
        "INSERT INTO registry.versions (subject, version, schema_id)
         SELECT $1, COALESCE(MAX(version), 0) + 1, $2 FROM registry.versions WHERE subject = $1",
    )
    .bind(subject.as_str())
    .bind(id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(subject = %subject, schema.id = id, "schema registered");
    Ok(id)
}

/// The global id of this schema, allocated on first sight.
async fn schema_id(conn: &mut PgConnection, schema: &ParsedSchema) -> Result<i32, RegistryError> {
    const SELECT: &str = "SELECT id FROM registry.schemas
                          WHERE md5(normalized) = md5($1) AND normalized = $1";
    if let Some((id,)) = sqlx::query_as(SELECT)
        .bind(&schema.normalized)
        .fetch_optional(&mut *conn)
        .await?
    {
        return Ok(id);
    }
    let inserted: Option<(i32,)> = sqlx::query_as(
        "INSERT INTO registry.schemas (id, normalized, schema)
         VALUES (nextval('registry.schema_ids'), $1, $2)
         ON CONFLICT ((md5(normalized))) DO NOTHING RETURNING id",
    )
    .bind(&schema.normalized)
    .bind(&schema.text)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some((id,)) = inserted {
        return Ok(id);
    }
    // Another transaction inserted it meanwhile; this new statement sees its committed row.
    let (id,) = sqlx::query_as(SELECT)
        .bind(&schema.normalized)
        .fetch_one(conn)
        .await?;
    Ok(id)
}
