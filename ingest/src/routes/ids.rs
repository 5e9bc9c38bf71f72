//! Path and body values shared by the routes: feed and item ids, client times.

use balados_platform::http::ApiError;
use balados_schemas::{FeedUrl, IdError, ItemId};
use chrono::{DateTime, Utc};

pub(crate) fn parse_feed(id: &str) -> Result<FeedUrl, ApiError> {
    FeedUrl::from_id(id).map_err(|e| match e {
        IdError::InvalidBase64 | IdError::InvalidUtf8 => ApiError::validation(
            "invalid_feed_id",
            format!("feed id must be base64url of the feed URL: {e}"),
        ),
        other => ApiError::validation("invalid_feed_url", format!("feed URL is invalid: {other}")),
    })
}

pub(crate) fn parse_item(id: &str) -> Result<ItemId, ApiError> {
    ItemId::from_id(id).map_err(|e| {
        ApiError::validation(
            "invalid_item_id",
            format!("item id must be base64url of \"guid,enclosure_url\": {e}"),
        )
    })
}

/// A client time (RFC 3339). Too far in the future is the aggregator's to clamp.
pub(crate) fn parse_time(raw: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            ApiError::validation(
                "invalid_timestamp",
                format!("timestamp must be RFC 3339 (e.g. 2026-01-31T12:00:00Z): {e}"),
            )
        })
}
