//! Form bodies (a rejection becomes a page saying what was wrong) and query-string encoding.

use crate::error::PageError;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

/// `axum::Form`, answering a malformed body with a 422 page.
#[derive(Debug)]
pub struct Form<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Form<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &S) -> Result<Self, PageError> {
        axum::Form::<T>::from_request(req, state)
            .await
            .map(|axum::Form(value)| Self(value))
            .map_err(|e| {
                PageError::Invalid(balados_platform::http::bounded(&format!(
                    "the form could not be read: {}",
                    axum::response::IntoResponse::into_response(e).status()
                )))
            })
    }
}

/// A form that carries only its CSRF token (log out, revoke).
#[derive(Debug, serde::Deserialize)]
pub struct CsrfOnly {
    pub csrf: String,
}

/// Percent-encodes a query-string component (everything but unreserved characters).
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn reserved_characters_are_encoded() {
        assert_eq!(super::encode("/a?b=c&d é"), "%2Fa%3Fb%3Dc%26d%20%C3%A9");
    }
}
