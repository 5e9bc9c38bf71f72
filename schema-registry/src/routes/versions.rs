//! `/subjects/{subject}/versions[/{version}]`: registering, reading and deleting versions.

use axum::extract::{RawQuery, State};
use serde_json::{Value, json};

use crate::Registry;
use crate::domain::{Subject, VersionSelector};
use crate::error::RegistryError;
use crate::routes::extract::{ConfluentJson, Operator, Params, flag};
use crate::routes::response::{Confluent, RawSchema};
use crate::routes::subjects::VersionBody;
use crate::schema::{ParsedSchema, SchemaRequest};
use crate::store::{delete, read, register};

/// `POST /subjects/{subject}/versions` (operator only) → `{"id": N}`.
pub async fn register(
    _: Operator,
    State(registry): State<Registry>,
    Params(subject): Params<String>,
    ConfluentJson(request): ConfluentJson<SchemaRequest>,
) -> Result<Confluent<Value>, RegistryError> {
    let subject = Subject::parse(&subject)?;
    let schema = ParsedSchema::from_request(request)?;
    let id = register::register(registry.pool(), &subject, &schema).await?;
    Ok(Confluent(json!({ "id": id })))
}

/// `GET /subjects/{subject}/versions` → `[1, 2, ...]`.
pub async fn list(
    State(registry): State<Registry>,
    Params(subject): Params<String>,
    query: RawQuery,
) -> Result<Confluent<Vec<i32>>, RegistryError> {
    let subject = Subject::parse(&subject)?;
    let versions = read::versions(
        &mut *registry.conn().await?,
        &subject,
        flag(&query, "deleted"),
    )
    .await?;
    Ok(Confluent(versions))
}

async fn fetch(
    registry: &Registry,
    subject: &str,
    version: &str,
    query: &RawQuery,
) -> Result<(Subject, read::VersionRow), RegistryError> {
    let subject = Subject::parse(subject)?;
    let selector = VersionSelector::parse(version)?;
    let row = read::version(
        &mut *registry.conn().await?,
        &subject,
        selector,
        flag(query, "deleted"),
    )
    .await?;
    Ok((subject, row))
}

/// `GET /subjects/{subject}/versions/{version}` (a number, `latest` or `-1`).
pub async fn get(
    State(registry): State<Registry>,
    Params((subject, version)): Params<(String, String)>,
    query: RawQuery,
) -> Result<Confluent<VersionBody>, RegistryError> {
    let (subject, row) = fetch(&registry, &subject, &version, &query).await?;
    Ok(Confluent(VersionBody::new(&subject, row)))
}

/// `GET /subjects/{subject}/versions/{version}/schema`: the raw schema text.
pub async fn raw(
    State(registry): State<Registry>,
    Params((subject, version)): Params<(String, String)>,
    query: RawQuery,
) -> Result<RawSchema, RegistryError> {
    let (_, row) = fetch(&registry, &subject, &version, &query).await?;
    Ok(RawSchema(row.schema))
}

/// `DELETE /subjects/{subject}/versions/{version}[?permanent=true]` (operator only) → the
/// version deleted.
pub async fn delete(
    _: Operator,
    State(registry): State<Registry>,
    Params((subject, version)): Params<(String, String)>,
    query: RawQuery,
) -> Result<Confluent<i32>, RegistryError> {
    let subject = Subject::parse(&subject)?;
    let selector = VersionSelector::parse(&version)?;
    let version = delete::version(
        registry.pool(),
        &subject,
        selector,
        flag(&query, "permanent"),
    )
    .await?;
    Ok(Confluent(version))
}
