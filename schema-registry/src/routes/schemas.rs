//! `/schemas/...`: schemas by global id, as deserializers fetch them.

use axum::extract::{RawQuery, State};
use serde::Serialize;
use serde_json::{Value, json};

use crate::Registry;
use crate::domain::parse_schema_id;
use crate::error::RegistryError;
use crate::routes::extract::{Params, flag};
use crate::routes::response::{Confluent, RawSchema};
use crate::store::read;

/// `GET /schemas/ids/{id}`; `schemaType` is omitted because every schema here is Avro, which is
/// what Confluent does for Avro.
pub async fn by_id(
    State(registry): State<Registry>,
    Params(id): Params<String>,
) -> Result<Confluent<Value>, RegistryError> {
    let id = parse_schema_id(&id)?;
    let schema = read::schema_by_id(&mut *registry.conn().await?, id).await?;
    Ok(Confluent(json!({ "schema": schema })))
}

/// `GET /schemas/ids/{id}/schema`
pub async fn raw_by_id(
    State(registry): State<Registry>,
    Params(id): Params<String>,
) -> Result<RawSchema, RegistryError> {
    let id = parse_schema_id(&id)?;
    let schema = read::schema_by_id(&mut *registry.conn().await?, id).await?;
    Ok(RawSchema(schema))
}

#[derive(Debug, Serialize)]
pub struct SubjectVersion {
    subject: String,
    version: i32,
}

/// `GET /schemas/ids/{id}/versions`
pub async fn versions(
    State(registry): State<Registry>,
    Params(id): Params<String>,
    query: RawQuery,
) -> Result<Confluent<Vec<SubjectVersion>>, RegistryError> {
    let id = parse_schema_id(&id)?;
    let rows =
        read::versions_of_schema(&mut *registry.conn().await?, id, flag(&query, "deleted")).await?;
    Ok(Confluent(
        rows.into_iter()
            .map(|(subject, version)| SubjectVersion { subject, version })
            .collect(),
    ))
}

/// `GET /schemas/types`: Avro only.
pub async fn types() -> Confluent<[&'static str; 1]> {
    Confluent(["AVRO"])
}
