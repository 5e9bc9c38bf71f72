//! Query parameters, validated with the stable error body: paging, booleans, ids.

use balados_platform::http::ApiError;
use balados_schemas::FeedUrl;
use std::collections::HashMap;

/// Default and largest page.
pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 100;

/// Raw query parameters (`Query<HashMap<..>>` never rejects, so every error is ours to word).
pub type Params = HashMap<String, String>;

/// `limit` (1 to [`MAX_LIMIT`], default [`DEFAULT_LIMIT`]) and `offset` (≥ 0, default 0).
pub fn paging(params: &Params) -> Result<(i64, i64), ApiError> {
    let limit = match params.get("limit") {
        None => DEFAULT_LIMIT,
        Some(raw) => raw
            .parse::<i64>()
            .ok()
            .filter(|l| (1..=MAX_LIMIT).contains(l))
            .ok_or_else(|| {
                ApiError::validation(
                    "invalid_limit",
                    format!("limit must be an integer from 1 to {MAX_LIMIT}"),
                )
            })?,
    };
    let offset = match params.get("offset") {
        None => 0,
        Some(raw) => raw.parse::<i64>().ok().filter(|o| *o >= 0).ok_or_else(|| {
            ApiError::validation("invalid_offset", "offset must be a non-negative integer")
        })?,
    };
    Ok((limit, offset))
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

/// An optional feed id parameter, as its canonical id.
pub fn feed(params: &Params, name: &str) -> Result<Option<String>, ApiError> {
    params
        .get(name)
        .map(|raw| {
            FeedUrl::from_id(raw).map(|f| f.id()).map_err(|e| {
                ApiError::validation(
                    "invalid_feed_id",
                    format!("{name} must be base64url of a feed URL: {e}"),
                )
            })
        })
        .transpose()
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
}
