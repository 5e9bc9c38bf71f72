//! Extractors that answer bad input in the error shape instead of axum's plain text.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use balados_platform::http::ApiError;

/// The one parameter of a route's path, percent-decoded. axum answers a segment that is not UTF-8
/// once decoded (`/playlists/%FF`) with a plain-text 400; here it is a 422 `invalid_path`. The
/// route then checks the value itself, with the code of what it names.
#[derive(Debug)]
pub struct Segment(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Segment {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| Self(value))
            .map_err(|e| ApiError::validation("invalid_path", e.body_text()))
    }
}
