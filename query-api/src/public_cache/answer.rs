//! An answer buffered once (tagged, shareable) and the response each client gets from it.

use super::MAX_BODY;
use super::store::Entry;
use super::validators;
use axum::body::{Body, HttpBody as _};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use balados_platform::http::ApiError;
use tokio::time::Instant;

/// The answer buffered, with its tag; `Err` with the answer untouched when its size is unknown or
/// over [`MAX_BODY`] (it is then passed on as it streams).
pub async fn buffer(response: Response) -> Result<Entry, Response> {
    let fits = response
        .body()
        .size_hint()
        .exact()
        .is_some_and(|size| size <= MAX_BODY as u64);
    if !fits {
        return Err(response);
    }
    let (parts, body) = response.into_parts();
    match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(body) => Ok(Entry {
            status: parts.status,
            etag: validators::etag(&body),
            headers: parts.headers,
            body,
            expires: None,
        }),
        Err(e) => {
            tracing::error!(error = %e, "reading a public answer's body failed");
            Err(ApiError::unavailable("the answer could not be read; retry later").into_response())
        }
    }
}

/// The response for `entry`: a 200 tagged, with its freshness, or a 304 when the client holds it.
pub fn reply(entry: &Entry, conditions: &[HeaderValue]) -> Response {
    if entry.status != StatusCode::OK {
        let mut response = Response::new(Body::from(entry.body.clone()));
        *response.status_mut() = entry.status;
        *response.headers_mut() = entry.headers.clone();
        return response;
    }
    let cache_control = match entry.expires {
        Some(expires) => validators::shared_for(validators::seconds_left(expires, Instant::now())),
        None => validators::UNSHARED,
    };
    let mut response = if validators::none_match(conditions, &entry.etag) {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        response
    } else {
        let mut response = Response::new(Body::from(entry.body.clone()));
        *response.headers_mut() = entry.headers.clone();
        response
    };
    let headers = response.headers_mut();
    headers.insert(header::ETAG, entry.etag.clone());
    headers.insert(header::CACHE_CONTROL, cache_control);
    response
}

/// An answer passed on as it streams: a 200 says it was not kept.
pub fn unshared(mut response: Response) -> Response {
    if response.status() == StatusCode::OK {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, validators::UNSHARED);
    }
    response
}
