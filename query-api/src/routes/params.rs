//! Query parameters, validated with the stable error body: paging, booleans, ids. Every value is
//! checked here, before a query is built: one PostgreSQL would refuse is the client's error (422),
//! never an unavailable read model (503).

use crate::cursor::{Cursor, CursorError};
use balados_platform::http::ApiError;
use balados_schemas::{FeedUrl, ItemId, UserId};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::HashMap;
use std::num::IntErrorKind;

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

/// Largest `offset`. PostgreSQL reads and drops the rows an offset skips, so a deep offset costs
/// every request as much as the whole list: the long lists page on with `cursor` instead.
pub const MAX_OFFSET: i64 = 10_000;

/// Raw query parameters (`Query<HashMap<..>>` never rejects, so every error is ours to word).
pub type Params = HashMap<String, String>;

/// `limit` (1 to [`MAX_LIMIT`], default [`DEFAULT_LIMIT`]) and `offset` (0 to [`MAX_OFFSET`],
/// default 0), for a list paged by offset only.
pub fn paging(params: &Params) -> Result<(i64, i64), ApiError> {
    Ok((limit(params, DEFAULT_LIMIT)?, offset(params, "")?))
}

/// A page of a list ordered by (time, id) descending: `limit`, and `offset` or `cursor`.
#[derive(Debug)]
pub struct KeysetPage {
    pub limit: i64,
    pub offset: i64,
    /// The page starts after this position.
    pub after: Option<Cursor>,
}

/// [`paging`] with the `cursor` of the previous page as an alternative to `offset`, which is
/// where an offset beyond [`MAX_OFFSET`] is sent.
pub fn keyset_paging(params: &Params) -> Result<KeysetPage, ApiError> {
    let limit = limit(params, DEFAULT_LIMIT)?;
    let offset = offset(
        params,
        "; page further with the previous page's next_cursor",
    )?;
    let after = cursor(params)?;
    Ok(KeysetPage {
        limit,
        offset,
        after,
    })
}

/// `offset`, 0 to [`MAX_OFFSET`]; `hint` tells how to page further.
fn offset(params: &Params, hint: &str) -> Result<i64, ApiError> {
    let Some(raw) = params.get("offset") else {
        return Ok(0);
    };
    let too_large = || {
        ApiError::validation(
            "offset_too_large",
            format!("offset must be at most {MAX_OFFSET}{hint}"),
        )
    };
    let invalid =
        || ApiError::validation("invalid_offset", "offset must be a non-negative integer");
    // Wider than i64, so that any run of digits too long is "too large", not "invalid".
    match raw.parse::<i128>() {
        Ok(offset) if offset < 0 => Err(invalid()),
        Ok(offset) => i64::try_from(offset)
            .ok()
            .filter(|o| *o <= MAX_OFFSET)
            .ok_or_else(too_large),
        Err(e) if *e.kind() == IntErrorKind::PosOverflow => Err(too_large()),
        Err(_) => Err(invalid()),
    }
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

/// The `cursor` parameter (see [`Cursor`]); not together with `offset`.
fn cursor(params: &Params) -> Result<Option<Cursor>, ApiError> {
    let Some(raw) = params.get("cursor") else {
        return Ok(None);
    };
    if params.contains_key("offset") {
        return Err(ApiError::validation(
            "invalid_paging",
            "give either offset or cursor, not both",
        ));
    }
    Cursor::parse(raw).map(Some).map_err(invalid_cursor)
}

/// The error of a cursor this API did not give.
pub fn invalid_cursor(e: CursorError) -> ApiError {
    ApiError::validation(
        "invalid_cursor",
        format!("cursor is not one this API gave: {e}"),
    )
}

/// The cursor of the page after `rows`, when the page is full (else it is the last one): the
/// (time, id) of its last row, as [`keyset_paging`] reads it back.
pub fn next_cursor<T>(
    rows: &[T],
    limit: i64,
    key: impl Fn(&T) -> Option<(DateTime<Utc>, String)>,
) -> Option<String> {
    let full = usize::try_from(limit).is_ok_and(|limit| rows.len() == limit);
    let (time, id) = rows.last().filter(|_| full).and_then(key)?;
    Some(Cursor { time, id }.encode())
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

/// An optional user id parameter (a JWT subject, as the write side accepts it).
pub fn user(params: &Params, name: &str) -> Result<Option<String>, ApiError> {
    params
        .get(name)
        .map(|raw| {
            UserId::parse(raw)
                .map(|u| u.as_str().to_owned())
                .map_err(|e| {
                    ApiError::validation("invalid_user_id", format!("{name} is not a user id: {e}"))
                })
        })
        .transpose()
}

/// Longest playlist or collection id.
const MAX_LIST_ID_LEN: usize = 64;

/// A playlist or collection id in a path: 1 to [`MAX_LIST_ID_LEN`] of `A-Z a-z 0-9 _ -`, the rule
/// the write side has applied to every id it created, so nothing else can name a list.
pub fn list_id(raw: &str) -> Result<&str, ApiError> {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
    if raw.is_empty() || raw.len() > MAX_LIST_ID_LEN || !raw.bytes().all(allowed) {
        return Err(ApiError::validation(
            "invalid_id",
            format!("an id is 1 to {MAX_LIST_ID_LEN} of A-Z a-z 0-9 _ -"),
        ));
    }
    Ok(raw)
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
            paging(&params(&[("limit", "100"), ("offset", "10000")])).expect("valid"),
            (100, 10_000)
        );
        for (bad, code) in [
            (("limit", "0"), "invalid_limit"),
            (("limit", "101"), "invalid_limit"),
            (("limit", "x"), "invalid_limit"),
            (("offset", "-1"), "invalid_offset"),
            (
                ("offset", "-99999999999999999999999999999999999999999"),
                "invalid_offset",
            ),
            (("offset", ""), "invalid_offset"),
            (("offset", "1e3"), "invalid_offset"),
            (("offset", "10001"), "offset_too_large"),
            (("offset", "9223372036854775808"), "offset_too_large"),
            (
                ("offset", "99999999999999999999999999999999999999999"),
                "offset_too_large",
            ),
        ] {
            let error = paging(&params(&[bad])).expect_err("refused");
            assert_eq!(error.code, code, "{bad:?}");
            assert_eq!(error.status.as_u16(), 422, "{bad:?}");
        }
    }

    #[test]
    fn a_deep_offset_of_a_keyset_list_is_sent_to_the_cursor() {
        let error = keyset_paging(&params(&[("offset", "10001")])).expect_err("too deep");
        assert_eq!(error.code, "offset_too_large");
        assert!(error.message.contains("next_cursor"), "{}", error.message);
        let page = keyset_paging(&params(&[("limit", "3"), ("offset", "10000")])).expect("valid");
        assert_eq!((page.limit, page.offset, page.after), (3, 10_000, None));
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
        let rows = [(time, "aWQ")];
        let raw = next_cursor(&rows, 1, |(t, id)| Some((*t, (*id).to_owned()))).expect("full");
        let page = keyset_paging(&params(&[("cursor", &raw)])).expect("valid");
        assert_eq!(
            page.after,
            Some(Cursor {
                time,
                id: "aWQ".to_owned()
            })
        );
        assert_eq!(next_cursor(&rows, 2, |_| Some((time, String::new()))), None);
        // Not base64; no comma; "x,y"; a time before 4713 BC; an id with a NUL byte.
        for bad in [
            "",
            "!!",
            "bm9jb21tYQ",
            "eCx5",
            "LTMwMDAwMDAwMDAwMDAwMDAwMCxh",
            "MSxhAGI",
        ] {
            let error = keyset_paging(&params(&[("cursor", bad)])).expect_err(bad);
            assert_eq!(error.code, "invalid_cursor", "{bad}");
        }
        let both = keyset_paging(&params(&[("cursor", &raw), ("offset", "0")])).expect_err("both");
        assert_eq!(both.code, "invalid_paging");
    }

    #[test]
    fn user_and_list_ids_postgresql_could_not_hold_are_refused() {
        assert_eq!(
            user(&params(&[("user_id", "ada")]), "user_id").expect("valid"),
            Some("ada".to_owned())
        );
        for bad in ["", "a\0b", "a/b", &"u".repeat(129)] {
            let error = user(&params(&[("user_id", bad)]), "user_id").expect_err("refused");
            assert_eq!(error.code, "invalid_user_id", "{bad:?}");
        }
        assert_eq!(list_id("road_trips-2").expect("valid"), "road_trips-2");
        for bad in ["", "a\0b", "a b", "é", &"i".repeat(65)] {
            assert_eq!(
                list_id(bad).map_err(|e| e.code),
                Err("invalid_id"),
                "{bad:?}"
            );
        }
    }
}
