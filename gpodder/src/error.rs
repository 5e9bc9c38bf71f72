//! What a gpodder route answers when it cannot do what was asked: the project's error body
//! (`{"error","code"}`), and on a 401 the Basic challenge that mygpoclient waits for before it
//! sends any credentials (the realm is required).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use balados_platform::http::ApiError;

pub const REALM: &str = "Basic realm=\"Balados Sync\"";

#[derive(Debug)]
pub struct GpodderError {
    pub api: ApiError,
    /// A 401 that asks for credentials (`WWW-Authenticate`).
    challenge: bool,
}

impl GpodderError {
    /// 401: credentials missing or wrong, or for another user than the path's.
    pub fn challenge(message: impl Into<String>) -> Self {
        Self {
            api: ApiError::unauthorized("unauthorized", message),
            challenge: true,
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, code, message).into()
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::not_found(message).into()
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        ApiError::unavailable(message).into()
    }
}

impl From<ApiError> for GpodderError {
    fn from(api: ApiError) -> Self {
        Self {
            api,
            challenge: false,
        }
    }
}

impl From<sqlx::Error> for GpodderError {
    fn from(e: sqlx::Error) -> Self {
        tracing::warn!(error = %e, "a gpodder route could not read the database");
        Self::unavailable("the service is unavailable; retry later")
    }
}

impl IntoResponse for GpodderError {
    fn into_response(self) -> Response {
        let mut response = self.api.into_response();
        if self.challenge {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(REALM));
        }
        response
    }
}
