//! `/subjects` and `/subjects/{subject}`: listing, look-up and deleting whole subjects.

use axum::extract::{RawQuery, State};
use serde::Serialize;

use crate::Registry;
use crate::domain::Subject;
use crate::error::RegistryError;
use crate::routes::extract::{ConfluentJson, Operator, Params, flag};
use crate::routes::response::Confluent;
use crate::schema::{ParsedSchema, SchemaRequest};
use crate::store::{delete, read};

/// A subject version with its schema: the answer of look-ups and `GET .../versions/{v}`.
#[derive(Debug, Serialize)]
pub struct VersionBody {
    pub subject: String,
    pub version: i32,
    pub id: i32,
    pub schema: String,
}

impl VersionBody {
    pub fn new(subject: &Subject, row: read::VersionRow) -> Self {
        Self {
            subject: subject.to_string(),
            version: row.version,
            id: row.id,
            schema: row.schema,
        }
    }
}

/// `GET /subjects`
pub async fn list(
    State(registry): State<Registry>,
    query: RawQuery,
) -> Result<Confluent<Vec<String>>, RegistryError> {
    let subjects = read::subjects(&mut *registry.conn().await?, flag(&query, "deleted")).await?;
    Ok(Confluent(subjects))
}

/// `POST /subjects/{subject}`: is this schema registered under the subject, and as which version?
/// A read despite the method, so open like every read.
pub async fn lookup(
    State(registry): State<Registry>,
    Params(subject): Params<String>,
    query: RawQuery,
    ConfluentJson(request): ConfluentJson<SchemaRequest>,
) -> Result<Confluent<VersionBody>, RegistryError> {
    let subject = Subject::parse(&subject)?;
    let schema = ParsedSchema::from_request(request)?;
    let mut conn = registry.conn().await?;
    let row = read::lookup(
        &mut conn,
        &subject,
        &schema.normalized,
        flag(&query, "deleted"),
    )
    .await?;
    Ok(Confluent(VersionBody::new(&subject, row)))
}

/// `DELETE /subjects/{subject}[?permanent=true]` (operator only): the versions deleted.
pub async fn delete(
    _: Operator,
    State(registry): State<Registry>,
    Params(subject): Params<String>,
    query: RawQuery,
) -> Result<Confluent<Vec<i32>>, RegistryError> {
    let subject = Subject::parse(&subject)?;
    let versions = delete::subject(registry.pool(), &subject, flag(&query, "permanent")).await?;
    Ok(Confluent(versions))
}
