//! The typed query extractor: each route declares the parameters it reads as a type, parsed whole
//! (with the project's error body and a stable code per parameter) before its handler runs.

use super::params::{self, KeysetPage, Params};
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use balados_platform::http::{ApiError, bounded};

/// A route's query parameters, read from the raw pairs.
pub trait FromParams: Sized {
    fn from_params(params: &Params) -> Result<Self, ApiError>;
}

/// `T` from the query string, or the 422 of the first parameter that is wrong.
#[derive(Debug)]
pub struct TypedQuery<T>(pub T);

impl<S: Send + Sync, T: FromParams> FromRequestParts<S> for TypedQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Query(raw) = Query::<Params>::try_from_uri(&parts.uri)
            .map_err(|e| ApiError::validation("invalid_query", bounded(&e.body_text())))?;
        T::from_params(&raw).map(TypedQuery)
    }
}

/// `limit` and `offset`, for a list paged by offset only.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub limit: i64,
    pub offset: i64,
}

impl FromParams for Page {
    fn from_params(raw: &Params) -> Result<Self, ApiError> {
        let (limit, offset) = params::paging(raw)?;
        Ok(Self { limit, offset })
    }
}

impl FromParams for KeysetPage {
    fn from_params(raw: &Params) -> Result<Self, ApiError> {
        params::keyset_paging(raw)
    }
}
