//! The registry's tables, created idempotently in their own `registry` schema.
//!
//! Not `sqlx::migrate!`: the other crates of the project keep their sqlx migrations in the same
//! database, and sqlx's single `_sqlx_migrations` table would mix their histories with ours. The
//! DDL is additive and `IF NOT EXISTS`, so running it at every start is harmless.

use sqlx::PgPool;

use crate::error::RegistryError;

/// Serializes concurrent starts: `CREATE ... IF NOT EXISTS` is not race-free in PostgreSQL.
const LOCK: &str = "SELECT pg_advisory_xact_lock(hashtext('balados.schema-registry.migrate'))";

const DDL: &str = r#"
CREATE SCHEMA IF NOT EXISTS registry;

-- Global ids, like Confluent's: one per distinct schema, whatever the subject.
CREATE SEQUENCE IF NOT EXISTS registry.schema_ids AS integer START 1;

CREATE TABLE IF NOT EXISTS registry.schemas (
    id         integer PRIMARY KEY,
    -- Sorted-key compact JSON of the schema: the identity of a schema.
    normalized text NOT NULL,
    -- The text as first registered, served back unchanged.
    schema     text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
-- A hash, because a btree entry cannot hold a large schema; lookups also compare the text.
CREATE UNIQUE INDEX IF NOT EXISTS schemas_normalized_md5 ON registry.schemas (md5(normalized));

CREATE TABLE IF NOT EXISTS registry.versions (
    subject    text    NOT NULL,
    version    integer NOT NULL CHECK (version >= 1),
    schema_id  integer NOT NULL REFERENCES registry.schemas (id),
    -- Soft delete: hidden from listings, kept until a permanent delete.
    deleted    boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (subject, version)
);
CREATE INDEX IF NOT EXISTS versions_schema_id ON registry.versions (schema_id);

-- Compatibility levels; the row with subject '' is the global level (subjects are never empty).
CREATE TABLE IF NOT EXISTS registry.config (
    subject       text PRIMARY KEY,
    compatibility text NOT NULL
);
"#;

pub async fn migrate(pool: &PgPool) -> Result<(), RegistryError> {
    let mut tx = pool.begin().await?;
    sqlx::query(LOCK).execute(&mut *tx).await?;
    sqlx::raw_sql(DDL).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}
