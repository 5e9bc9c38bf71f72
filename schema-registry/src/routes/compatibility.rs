//! `/compatibility/subjects/{subject}/versions[/{version}]`: would this schema be accepted? Reads
//! that change nothing, so open: data teams check a schema before asking an operator to register it.

use axum::extract::{RawQuery, State};
use serde::Serialize;

use crate::Registry;
use crate::compat::{self, Earlier};
use crate::domain::{Subject, VersionSelector};
use crate::error::RegistryError;
use crate::routes::extract::{ConfluentJson, Params, flag};
use crate::routes::response::Confluent;
use crate::schema::{ParsedSchema, SchemaRequest, parse_stored};
use crate::store::{config, read, register};

#[derive(Debug, Serialize)]
pub struct CompatibilityBody {
    is_compatible: bool,
    /// Only with `?verbose=true`, as in Confluent.
    #[serde(skip_serializing_if = "Option::is_none")]
    messages: Option<Vec<String>>,
}

fn answer(messages: Vec<String>, query: &RawQuery) -> Confluent<CompatibilityBody> {
    Confluent(CompatibilityBody {
        is_compatible: messages.is_empty(),
        messages: flag(query, "verbose").then_some(messages),
    })
}

/// `POST /compatibility/subjects/{subject}/versions/{version}`: against that one version, in the
/// directions of the subject's level.
pub async fn against_version(
    State(registry): State<Registry>,
    Params((subject, version)): Params<(String, String)>,
    query: RawQuery,
    ConfluentJson(request): ConfluentJson<SchemaRequest>,
) -> Result<Confluent<CompatibilityBody>, RegistryError> {
    let subject = Subject::parse(&subject)?;
    let selector = VersionSelector::parse(&version)?;
    let schema = ParsedSchema::from_request(request)?;
    let mut conn = registry.conn().await?;
    let row = read::version(&mut conn, &subject, selector, false).await?;
    let level = config::effective(&mut conn, &subject).await?;
    let earlier = [Earlier {
        version: row.version,
        schema: parse_stored(&row.schema)?,
    }];
    Ok(answer(
        compat::check_each(level, &schema.schema, &earlier),
        &query,
    ))
}

/// `POST /compatibility/subjects/{subject}/versions`: against the versions the level selects,
/// exactly the check a registration would run. A subject without versions accepts anything.
pub async fn against_all(
    State(registry): State<Registry>,
    Params(subject): Params<String>,
    query: RawQuery,
    ConfluentJson(request): ConfluentJson<SchemaRequest>,
) -> Result<Confluent<CompatibilityBody>, RegistryError> {
    let subject = Subject::parse(&subject)?;
    let schema = ParsedSchema::from_request(request)?;
    let mut conn = registry.conn().await?;
    let earlier = register::earlier_schemas(&mut conn, &subject).await?;
    let level = config::effective(&mut conn, &subject).await?;
    Ok(answer(
        compat::check(level, &schema.schema, &earlier),
        &query,
    ))
}
