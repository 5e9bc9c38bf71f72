//! Responses in Confluent's media type, which strict clients check before parsing.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

pub const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

/// A JSON body served as `application/vnd.schemaregistry.v1+json`.
#[derive(Debug)]
pub struct Confluent<T>(pub T);

impl<T: Serialize> IntoResponse for Confluent<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(body) => with_content_type(body),
            // Our bodies are plain structs; this cannot happen, but must not panic either.
            Err(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                with_content_type(
                    br#"{"error_code":50001,"message":"response serialization failed"}"#.to_vec(),
                ),
            )
                .into_response(),
        }
    }
}

/// A schema served as its raw registered text (the `/schema` sub-resources).
#[derive(Debug)]
pub struct RawSchema(pub String);

impl IntoResponse for RawSchema {
    fn into_response(self) -> Response {
        with_content_type(self.0.into_bytes())
    }
}

fn with_content_type(body: Vec<u8>) -> Response {
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))],
        body,
    )
        .into_response()
}
