//! `PathParams<T>`: axum's `Path` with the project's error body. axum answers a segment that is
//! not UTF-8 once percent-decoded (`/playlists/%FF`) with a plain-text 400; here it is a 422
//! `invalid_path`. The route then checks each value itself, with the code of what it names.

use super::{ApiError, bounded};
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

#[derive(Debug)]
pub struct PathParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| Self(value))
            .map_err(|e| ApiError::validation("invalid_path", bounded(&e.body_text())))
    }
}
