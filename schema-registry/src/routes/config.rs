//! `/config[/{subject}]`: compatibility levels.

use axum::extract::{RawQuery, State};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Registry;
use crate::compat::CompatibilityLevel;
use crate::domain::Subject;
use crate::error::RegistryError;
use crate::routes::extract::{ConfluentJson, Operator, Params, flag};
use crate::routes::response::Confluent;
use crate::store::config;

/// `PUT` body. Optional so that a missing level is 42203 like an unknown one, not a body error.
#[derive(Debug, Deserialize)]
pub struct ConfigRequest {
    #[serde(default)]
    compatibility: Option<String>,
}

impl ConfigRequest {
    fn level(&self) -> Result<CompatibilityLevel, RegistryError> {
        self.compatibility
            .as_deref()
            .ok_or_else(|| RegistryError::InvalidCompatibilityLevel("(missing)".to_owned()))?
            .parse()
    }
}

/// Reads answer `compatibilityLevel`, writes echo `compatibility`: Confluent's asymmetry, which
/// its clients rely on.
fn level_body(level: CompatibilityLevel) -> Confluent<Value> {
    Confluent(json!({ "compatibilityLevel": level.as_str() }))
}

fn update_body(level: CompatibilityLevel) -> Confluent<Value> {
    Confluent(json!({ "compatibility": level.as_str() }))
}

/// `GET /config`
pub async fn get_global(
    State(registry): State<Registry>,
) -> Result<Confluent<Value>, RegistryError> {
    Ok(level_body(
        config::global(&mut *registry.conn().await?).await?,
    ))
}

/// `PUT /config` (operator only)
pub async fn put_global(
    _: Operator,
    State(registry): State<Registry>,
    ConfluentJson(request): ConfluentJson<ConfigRequest>,
) -> Result<Confluent<Value>, RegistryError> {
    let level = request.level()?;
    config::set(&mut *registry.conn().await?, None, level).await?;
    Ok(update_body(level))
}

/// `GET /config/{subject}[?defaultToGlobal=true]`; 40408 when the subject has no own level.
pub async fn get_subject(
    State(registry): State<Registry>,
    Params(subject): Params<String>,
    query: RawQuery,
) -> Result<Confluent<Value>, RegistryError> {
    let subject = Subject::parse(&subject)?;
    let mut conn = registry.conn().await?;
    let level = if flag(&query, "defaultToGlobal") {
        config::effective(&mut conn, &subject).await?
    } else {
        config::get(&mut conn, Some(&subject))
            .await?
            .ok_or_else(|| RegistryError::SubjectConfigNotFound(subject.to_string()))?
    };
    Ok(level_body(level))
}

/// `PUT /config/{subject}` (operator only); allowed before the subject has any version, to
/// prepare it.
pub async fn put_subject(
    _: Operator,
    State(registry): State<Registry>,
    Params(subject): Params<String>,
    ConfluentJson(request): ConfluentJson<ConfigRequest>,
) -> Result<Confluent<Value>, RegistryError> {
    let subject = Subject::parse(&subject)?;
    let level = request.level()?;
    config::set(&mut *registry.conn().await?, Some(&subject), level).await?;
    Ok(update_body(level))
}

/// `DELETE /config/{subject}` (operator only) → the level removed; the subject falls back to the
/// global level.
pub async fn delete_subject(
    _: Operator,
    State(registry): State<Registry>,
    Params(subject): Params<String>,
) -> Result<Confluent<Value>, RegistryError> {
    let subject = Subject::parse(&subject)?;
    let level = config::delete(&mut *registry.conn().await?, &subject)
        .await?
        .ok_or_else(|| RegistryError::SubjectConfigNotFound(subject.to_string()))?;
    Ok(level_body(level))
}
