//! Query parameters, validated with the stable error body: paging, booleans, ids.

use balados_platform::http::ApiError;
use balados_schemas::{FeedUrl, ItemId};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::HashMap;

/// The paging of an answer.
#[derive(Debug, Serialize)]
pub struct Paged {
    pub limit: i64,
    pub offset: i64,
    pub total: i64,
}

/// Default and largest page.
pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 100;

/// Raw query parameters (`Query<HashMap<..>>` never rejects, so every error is ours to word).
pub type Params = HashMap<String, String>;

/// `limit` (1 to [`MAX_LIMIT`], default [`DEFAULT_LIMIT`]) and `offset` (≥ 0, default 0).
pub fn paging(params: &Params) -> Result<(i64, i64), ApiError> {
    let limit = limit(params, DEFAULT_LIMIT)?;
    let offset = match params.get("offset") {
        None => 0,
        Some(raw) => raw.parse::<i64>().ok().filter(|o| *o >= 0).ok_or_else(|| {
            ApiError::validation("invalid_offset", "offset must be a non-negative integer")
        })?,
    };
    Ok((limit, offset))
}

/// `limit`, 1 to [`MAX_LIMIT`].
pub fn limit(params: &Params, default: i64) -> Result<i64, ApiError> {
    params.get("limit").map_or(Ok(default), |raw| {
        raw.parse::<i64>()
            .ok()
            .filter(|l| (1..=MAX_LIMIT).contains(l))
            .ok_or_else(|| {
                ApiError::validation(
                    "invalid_limit",
                    format!("limit must be an integer from 1 to {MAX_LIMIT}"),
                )
            })
    })
}

/// A position in a list ordered by (time, id) descending, as the opaque `cursor` parameter: the
/// base64url of "{microseconds},{id}" of the last row of the previous page.
pub fn cursor(params: &Params) -> Result<Option<(DateTime<Utc>, String)>, ApiError> {
    let Some(raw) = params.get("cursor") else {
        return Ok(None);
    };
    if params.contains_key("offset") {
        return Err(ApiError::validation(
            "invalid_paging",
            "give either offset or cursor, not both",
        ));
    }
    let invalid = || ApiError::validation("invalid_cursor", "cursor is not one this API gave");
    let decoded = URL_SAFE_NO_PAD.decode(raw).map_err(|_| invalid())?;
    let text = String::from_utf8(decoded).map_err(|_| invalid())?;
    let (micros, id) = text.split_once(',').ok_or_else(invalid)?;
    let time = micros
        .parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_micros)
        .ok_or_else(invalid)?;
    Ok(Some((time, id.to_owned())))
}

/// The cursor of the page after `rows`, when the page is full (else it is the last one): the
/// (time, id) of its last row, as [`cursor`] reads it back.
pub fn next_cursor<T>(
    rows: &[T],
    limit: i64,
    key: impl Fn(&T) -> Option<(DateTime<Utc>, String)>,
) -> Option<String> {
    let full = usize::try_from(limit).is_ok_and(|limit| rows.len() == limit);
    let (time, id) = rows.last().filter(|_| full).and_then(key)?;
    Some(encode_cursor(time, &id))
}

fn encode_cursor(time: DateTime<Utc>, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{},{id}", time.timestamp_micros()))
}

/// An optional `true`/`false` parameter.
pub fn boolean(params: &Params, name: &str) -> Result<Option<bool>, ApiError> {
    params
        .get(name)
        .map(|raw| match raw.as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(ApiError::validation(
                "invalid_boolean",
                format!("{name} must be true or false"),
            )),
        })
        .transpose()
}

/// An optional parameter that must be one of `allowed`.
pub fn one_of(
    params: &Params,
    name: &str,
    allowed: &[&'static str],
    code: &'static str,
) -> Result<Option<&'static str>, ApiError> {
    params
        .get(name)
        .map(|raw| {
            allowed
                .iter()
                .find(|a| **a == raw.as_str())
                .copied()
                .ok_or_else(|| {
                    ApiError::validation(
                        code,
                        format!("{name} must be one of {}", allowed.join(", ")),
                    )
                })
        })
        .transpose()
}

/// An optional item id parameter, as its canonical id.
pub fn item(params: &Params, name: &str) -> Result<Option<String>, ApiError> {
    params.get(name).map(|raw| item_id(raw, name)).transpose()
}

/// An episode id (base64url of "guid,enclosure_url"), as its canonical id.
pub fn item_id(raw: &str, name: &str) -> Result<String, ApiError> {
    ItemId::from_id(raw).map(|i| i.id()).map_err(|e| {
        ApiError::validation(
            "invalid_item_id",
            format!("{name} must be base64url of \"guid,enclosure_url\": {e}"),
        )
    })
}

/// A feed id (base64url of the feed URL), as its canonical id.
pub fn feed_id(raw: &str, name: &str) -> Result<String, ApiError> {
    FeedUrl::from_id(raw).map(|f| f.id()).map_err(|e| {
        ApiError::validation(
            "invalid_feed_id",
            format!("{name} must be base64url of a feed URL: {e}"),
        )
    })
}

/// An optional feed id parameter, as its canonical id.
pub fn feed(params: &Params, name: &str) -> Result<Option<String>, ApiError> {
    params.get(name).map(|raw| feed_id(raw, name)).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn paging_defaults_and_bounds() {
        assert_eq!(paging(&params(&[])).expect("valid"), (50, 0));
        assert_eq!(
            paging(&params(&[("limit", "100"), ("offset", "7")])).expect("valid"),
            (100, 7)
        );
        for bad in [
            ("limit", "0"),
            ("limit", "101"),
            ("limit", "x"),
            ("offset", "-1"),
        ] {
            assert!(paging(&params(&[bad])).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn booleans_and_feeds_are_exact() {
        assert_eq!(
            boolean(&params(&[("p", "true")]), "p").expect("ok"),
            Some(true)
        );
        assert!(boolean(&params(&[("p", "yes")]), "p").is_err());
        assert!(feed(&params(&[("feed", "%%")]), "feed").is_err());
        assert_eq!(feed(&params(&[]), "feed").expect("ok"), None);
    }

    #[test]
    fn cursors_round_trip_and_bad_ones_are_refused() {
        let time = DateTime::from_timestamp_micros(1_764_000_000_123_456).expect("valid");
        let raw = encode_cursor(time, "aWQ");
        assert_eq!(
            cursor(&params(&[("cursor", &raw)])).expect("valid"),
            Some((time, "aWQ".to_owned()))
        );
        for bad in ["", "!!", "bm9jb21tYQ", "eCx5"] {
            let error = cursor(&params(&[("cursor", bad)])).expect_err(bad);
            assert_eq!(error.code, "invalid_cursor", "{bad}");
        }
        let both = cursor(&params(&[("cursor", &raw), ("offset", "0")])).expect_err("both");
        assert_eq!(both.code, "invalid_paging");
    }
}
