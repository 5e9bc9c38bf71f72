//! Request bodies as gpodder clients send them: JSON whatever the Content-Type (mygpoclient posts
//! it as `application/x-www-form-urlencoded`), possibly gzip-compressed. The server's body limit
//! applies to the bytes received; the decompressed text has its own bound, so that a small
//! "zip bomb" is a 413 rather than memory exhaustion.

use crate::error::GpodderError;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use balados_platform::http::{ApiError, bounded};
use serde::de::DeserializeOwned;
use std::io::Read;

/// The most a compressed body may expand to: the largest honest upload (5,000 subscriptions of
/// 2,048-byte URLs, or a long history of episode actions) fits, a bomb does not.
pub const MAX_DECOMPRESSED_BYTES: u64 = 16 * 1024 * 1024;

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "request body is too large",
    )
}

fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, code, message)
}

/// `compressed` inflated, or 413 past `limit` bytes, or 400 when it is not gzip.
pub fn gunzip(compressed: &[u8], limit: u64) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::new();
    // One byte past the limit tells "exactly at the limit" from "beyond".
    flate2::read::MultiGzDecoder::new(compressed)
        .take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|_| bad_request("invalid_body", "the body is not valid gzip"))?;
    if out.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(out)
}

/// The request's body, decompressed when it says `Content-Encoding: gzip`.
#[derive(Debug)]
pub struct RawBody(pub Vec<u8>);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = GpodderError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let encoding = req
            .headers()
            .get(header::CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_ascii_lowercase());
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                too_large()
            } else {
                bad_request("invalid_body", bounded(&e.body_text()))
            }
        })?;
        let body = match encoding.as_deref() {
            None | Some("" | "identity") => bytes.to_vec(),
            Some("gzip" | "x-gzip") => gunzip(&bytes, MAX_DECOMPRESSED_BYTES)?,
            Some(_) => {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_encoding",
                    "Content-Encoding must be gzip or none",
                )
                .into());
            }
        };
        Ok(Self(body))
    }
}

/// A JSON body, whatever its Content-Type; malformed JSON is a 400 (what gpodder clients expect).
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = GpodderError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let RawBody(bytes) = RawBody::from_request(req, state).await?;
        serde_json::from_slice(&bytes).map(Self).map_err(|e| {
            bad_request(
                "invalid_json",
                format!(
                    "request body is not the JSON expected: {}",
                    bounded(&e.to_string())
                ),
            )
            .into()
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_list_of_more_than_the_most_items_is_refused_at_the_first_beyond() {
        let most = format!("[{}0]", "0,".repeat(super::MAX_ITEMS - 1));
        let read: super::Bounded<u8> = serde_json::from_str(&most).expect("the most is read");
        assert_eq!(read.0.len(), super::MAX_ITEMS);
        let over = format!("[{}0]", "0,".repeat(super::MAX_ITEMS));
        let refused = serde_json::from_str::<super::Bounded<u8>>(&over).expect_err("one more");
        assert!(refused.to_string().contains("at most"), "{refused}");
    }

    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use std::io::Write;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
        encoder.write_all(bytes).expect("writes");
        encoder.finish().expect("finishes")
    }

    #[test]
    fn a_gzip_body_inflates_up_to_its_bound() {
        let text = b"{\"add\":[\"http://example.com/rss\"]}";
        assert_eq!(gunzip(&gzip(text), 100).expect("inflates"), text);
        assert_eq!(gunzip(&gzip(text), text.len() as u64).expect("fits"), text);
        let refused = gunzip(&gzip(text), text.len() as u64 - 1).expect_err("too large");
        assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[test]
    fn a_bomb_stops_at_the_bound() {
        // 64 MiB of zeros compress to ~64 KiB: well within any body limit.
        let bomb = gzip(&vec![0u8; 64 * 1024 * 1024]);
        assert!(bomb.len() < 128 * 1024, "{}", bomb.len());
        let refused = gunzip(&bomb, MAX_DECOMPRESSED_BYTES).expect_err("a bomb");
        assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[test]
    fn what_is_not_gzip_is_a_bad_request() {
        let refused = gunzip(b"plain text", 100).expect_err("not gzip");
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    }
}

/// Items of one list in a request, at most: more than any client sends in one go (a user follows
/// at most 5,000 feeds; an upload of actions holds at most 5,000).
pub const MAX_ITEMS: usize = 5_000;

/// A JSON array of at most [`MAX_ITEMS`] items: reading stops at the first item beyond, so a
/// small compressed body cannot make millions of values.
#[derive(Debug, Default)]
pub struct Bounded<T>(pub Vec<T>);

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Bounded<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Items<T>(std::marker::PhantomData<T>);

        impl<'de, T: serde::Deserialize<'de>> serde::de::Visitor<'de> for Items<T> {
            type Value = Bounded<T>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "an array of at most {MAX_ITEMS} items")
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    if items.len() == MAX_ITEMS {
                        return Err(serde::de::Error::custom(format!(
                            "at most {MAX_ITEMS} items in one request"
                        )));
                    }
                    items.push(item);
                }
                Ok(Bounded(items))
            }
        }

        deserializer.deserialize_seq(Items(std::marker::PhantomData))
    }
}
