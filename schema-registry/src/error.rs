//! The one place where failures become Confluent error codes.
//!
//! Confluent clients branch on `error_code` (for example `schema_registry_converter` and the Python
//! client treat 40401/40403 as "not there yet"), so every variant maps to the exact code and HTTP
//! status the Confluent registry uses, and the body is always `{"error_code", "message"}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::routes::response::Confluent;

/// Everything the registry can refuse or fail with.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("Subject '{0}' not found.")]
    SubjectNotFound(String),
    #[error("Version {version} not found for subject '{subject}'.")]
    VersionNotFound { subject: String, version: i32 },
    #[error("Schema not found")]
    SchemaNotFound,
    #[error("Schema {0} not found")]
    SchemaIdNotFound(i32),
    #[error("Subject '{0}' was soft deleted. Set permanent=true to delete permanently")]
    SubjectSoftDeleted(String),
    #[error("Subject '{0}' was not deleted first before being permanently deleted")]
    SubjectNotSoftDeleted(String),
    #[error(
        "Subject '{subject}' Version {version} was soft deleted. Set permanent=true to delete permanently"
    )]
    VersionSoftDeleted { subject: String, version: i32 },
    #[error(
        "Subject '{subject}' Version {version} was not deleted first before being permanently deleted"
    )]
    VersionNotSoftDeleted { subject: String, version: i32 },
    #[error("Subject '{0}' does not have subject-level compatibility configured")]
    SubjectConfigNotFound(String),
    #[error("Schema being registered is incompatible with an earlier schema for subject '{subject}', details: {}", .messages.join("; "))]
    Incompatible {
        subject: String,
        messages: Vec<String>,
    },
    #[error("Invalid schema: {0}")]
    InvalidSchema(String),
    #[error(
        "The specified version '{0}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\""
    )]
    InvalidVersion(String),
    #[error(
        "Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive: {0}"
    )]
    InvalidCompatibilityLevel(String),
    #[error("Invalid subject name: {0:?}")]
    InvalidSubject(String),
    #[error("Malformed request body: {0}")]
    MalformedBody(String),
    #[error("Invalid request body: {0}")]
    InvalidBody(String),
    #[error(
        "Unauthorized: registering, deleting and changing compatibility levels need the registry \
         operator's credential (HTTP Basic auth); reads need none"
    )]
    Unauthorized,
    #[error(
        "Writes are disabled on this registry: it has no operator credential configured (setting \
         schema_registry.operator_password); reads still work"
    )]
    WritesRefused,
    #[error("HTTP 404 Not Found")]
    RouteNotFound,
    #[error("HTTP 405 Method Not Allowed")]
    MethodNotAllowed,
    #[error("Error in the backend data store: {0}")]
    Store(#[from] sqlx::Error),
}

impl RegistryError {
    /// The `(HTTP status, error_code)` pair Confluent answers with for this failure.
    pub fn codes(&self) -> (StatusCode, u32) {
        use RegistryError::*;
        match self {
            SubjectNotFound(_) => (StatusCode::NOT_FOUND, 40401),
            VersionNotFound { .. } => (StatusCode::NOT_FOUND, 40402),
            SchemaNotFound | SchemaIdNotFound(_) => (StatusCode::NOT_FOUND, 40403),
            SubjectSoftDeleted(_) => (StatusCode::NOT_FOUND, 40404),
            SubjectNotSoftDeleted(_) => (StatusCode::NOT_FOUND, 40405),
            VersionSoftDeleted { .. } => (StatusCode::NOT_FOUND, 40406),
            VersionNotSoftDeleted { .. } => (StatusCode::NOT_FOUND, 40407),
            SubjectConfigNotFound(_) => (StatusCode::NOT_FOUND, 40408),
            Incompatible { .. } => (StatusCode::CONFLICT, 409),
            InvalidSchema(_) | InvalidBody(_) => (StatusCode::UNPROCESSABLE_ENTITY, 42201),
            InvalidVersion(_) => (StatusCode::UNPROCESSABLE_ENTITY, 42202),
            InvalidCompatibilityLevel(_) => (StatusCode::UNPROCESSABLE_ENTITY, 42203),
            InvalidSubject(_) => (StatusCode::UNPROCESSABLE_ENTITY, 42208),
            MalformedBody(_) => (StatusCode::BAD_REQUEST, 400),
            Unauthorized => (StatusCode::UNAUTHORIZED, 40101),
            WritesRefused => (StatusCode::FORBIDDEN, 40301),
            RouteNotFound => (StatusCode::NOT_FOUND, 404),
            MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, 405),
            Store(_) => (StatusCode::INTERNAL_SERVER_ERROR, 50001),
        }
    }
}

#[derive(Serialize)]
struct ErrorBody {
    error_code: u32,
    message: String,
}

impl IntoResponse for RegistryError {
    fn into_response(self) -> Response {
        let (status, error_code) = self.codes();
        if status.is_server_error() {
            // Logged here, where it is handled, and nowhere else.
            tracing::error!(error = %self, "schema registry store failure");
        }
        let body = ErrorBody {
            error_code,
            message: self.to_string(),
        };
        let mut response = (status, Confluent(body)).into_response();
        if matches!(self, RegistryError::Unauthorized) {
            // RFC 9110: a 401 names the scheme to use; clients that only send a credential when
            // asked (curl --anyauth, browsers) need it.
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Basic realm="schema-registry""#),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_variants_use_distinct_confluent_codes() {
        let codes = [
            RegistryError::SubjectNotFound("s".into()).codes().1,
            RegistryError::VersionNotFound {
                subject: "s".into(),
                version: 1,
            }
            .codes()
            .1,
            RegistryError::SchemaIdNotFound(1).codes().1,
            RegistryError::SubjectConfigNotFound("s".into()).codes().1,
        ];
        assert_eq!(codes, [40401, 40402, 40403, 40408]);
    }

    #[test]
    fn unauthorized_is_401_with_the_basic_challenge_and_refused_writes_are_403() {
        let response = RegistryError::Unauthorized.into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers().get(header::WWW_AUTHENTICATE),
            Some(&HeaderValue::from_static(
                r#"Basic realm="schema-registry""#
            ))
        );
        let (status, code) = RegistryError::WritesRefused.codes();
        assert_eq!((status.as_u16(), code), (403, 40301));
        let refused = RegistryError::WritesRefused.into_response();
        assert!(refused.headers().get(header::WWW_AUTHENTICATE).is_none());
    }

    #[test]
    fn store_errors_are_50001_with_status_500() {
        let (status, code) = RegistryError::Store(sqlx::Error::PoolClosed).codes();
        assert_eq!((status.as_u16(), code), (500, 50001));
    }
}
