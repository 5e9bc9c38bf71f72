//! Extractors that answer bad input in Confluent's error shape instead of axum's plain text.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, RawQuery, Request};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::error::Category;

use crate::Registry;
use crate::error::RegistryError;

/// Proof that the request carries the operator's credential: the first argument of every handler
/// that writes or deletes, so that a route cannot write without it and the check runs before the
/// path or the body is even looked at (an anonymous caller learns nothing from a 422).
#[derive(Debug)]
pub struct Operator;

impl FromRequestParts<Registry> for Operator {
    type Rejection = RegistryError;

    async fn from_request_parts(
        parts: &mut Parts,
        registry: &Registry,
    ) -> Result<Self, Self::Rejection> {
        let authorization = parts.headers.get(AUTHORIZATION).map(|v| v.as_bytes());
        registry.writes().authorize(authorization)?;
        Ok(Operator)
    }
}

/// A JSON body, whatever its declared content type: Confluent clients send
/// `application/vnd.schemaregistry.v1+json`, `application/json`, `application/octet-stream` or
/// nothing at all, and all of them must work.
#[derive(Debug)]
pub struct ConfluentJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ConfluentJson<T> {
    type Rejection = RegistryError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| RegistryError::MalformedBody(e.body_text()))?;
        serde_json::from_slice(&bytes)
            .map(ConfluentJson)
            .map_err(|e| match e.classify() {
                // Well-formed JSON of the wrong shape (missing `schema`, wrong types).
                Category::Data => RegistryError::InvalidBody(e.to_string()),
                Category::Syntax | Category::Eof | Category::Io => {
                    RegistryError::MalformedBody(e.to_string())
                }
            })
    }
}

/// Path parameters; a rejection (invalid percent-encoding) becomes a Confluent error.
#[derive(Debug)]
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Params<T> {
    type Rejection = RegistryError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| Params(value))
            .map_err(|e| RegistryError::InvalidSubject(e.body_text()))
    }
}

/// Whether a boolean query flag (`?deleted=true`, `?permanent=true`) is set. Parsed by hand so
/// that an odd query string can never be rejected: unknown or malformed flags count as false.
pub fn flag(query: &RawQuery, name: &str) -> bool {
    query.0.as_deref().is_some_and(|q| {
        q.split('&').any(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            key == name && value.eq_ignore_ascii_case("true")
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(q: &str) -> RawQuery {
        RawQuery(Some(q.to_owned()))
    }

    #[test]
    fn flags_are_true_only_when_spelled_true() {
        assert!(flag(&query("deleted=true"), "deleted"));
        assert!(flag(&query("normalize=false&permanent=TRUE"), "permanent"));
        assert!(!flag(&query("deleted=false"), "deleted"));
        assert!(!flag(&query("deleted"), "deleted"));
        assert!(!flag(&query("undeleted=true"), "deleted"));
        assert!(!flag(&RawQuery(None), "deleted"));
    }
}
