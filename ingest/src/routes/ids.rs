//! Path and body values shared by the routes: feed and item ids, bounded fields, client times.
//! Each is parsed by its type's own `parse` (the one decoding a command applies again), and a
//! violation is a 422 with the field's stable code.

use balados_platform::http::ApiError;
use balados_schemas::{FeedUrl, FieldError, IdError, ItemId, Seconds};
use chrono::{DateTime, TimeZone as _, Utc};

/// A bounded field: `parse(raw)`, or a 422 with `code` naming `field`.
pub(crate) fn field<T>(
    code: &'static str,
    field: &str,
    parsed: Result<T, FieldError>,
) -> Result<T, ApiError> {
    parsed.map_err(|e| ApiError::validation(code, format!("{field} {e}")))
}

/// An optional bounded field.
pub(crate) fn opt_field<T>(
    code: &'static str,
    name: &str,
    raw: Option<&str>,
    parse: impl FnOnce(&str) -> Result<T, FieldError>,
) -> Result<Option<T>, ApiError> {
    raw.map(|r| field(code, name, parse(r))).transpose()
}

pub(crate) fn seconds(code: &'static str, name: &str, raw: i64) -> Result<Seconds, ApiError> {
    field(code, name, Seconds::parse(raw))
}

pub fn parse_feed(id: &str) -> Result<FeedUrl, ApiError> {
    FeedUrl::from_id(id).map_err(|e| match e {
        IdError::InvalidBase64 | IdError::InvalidUtf8 => ApiError::validation(
            "invalid_feed_id",
            format!("feed id must be base64url of the feed URL: {e}"),
        ),
        other => ApiError::validation("invalid_feed_url", format!("feed URL is invalid: {other}")),
    })
}

pub fn parse_item(id: &str) -> Result<ItemId, ApiError> {
    ItemId::from_id(id).map_err(|e| {
        ApiError::validation(
            "invalid_item_id",
            format!("item id must be base64url of \"guid,enclosure_url\": {e}"),
        )
    })
}

/// A client time (RFC 3339) from 1970 to 9999. Too far in the future is the aggregator's to
/// clamp; the bounds keep any time within what Avro's milliseconds and PostgreSQL hold (chrono
/// reads years PostgreSQL refuses).
pub(crate) fn parse_time(raw: &str) -> Result<DateTime<Utc>, ApiError> {
    let time = DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            ApiError::validation(
                "invalid_timestamp",
                format!("timestamp must be RFC 3339 (e.g. 2026-01-31T12:00:00Z): {e}"),
            )
        })?;
    let earliest = Utc.timestamp_opt(0, 0).single();
    let latest = Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).single();
    if earliest.is_some_and(|e| time < e) || latest.is_some_and(|l| time > l) {
        return Err(ApiError::validation(
            "invalid_timestamp",
            "timestamp must be between 1970-01-01 and 9999-12-31",
        ));
    }
    Ok(time)
}
