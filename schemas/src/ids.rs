//! Validated identifiers. Feed ids in URLs are base64url of the feed URL; standard base64, with or
//! without padding, is accepted too because clients of the original service send both.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use std::fmt;

/// Longest accepted feed URL, in bytes.
pub const MAX_FEED_URL_LEN: usize = 2048;
/// Longest accepted user id, in bytes.
pub const MAX_USER_ID_LEN: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("not valid base64 or base64url")]
    InvalidBase64,
    #[error("not valid UTF-8 once decoded")]
    InvalidUtf8,
    #[error("not an http(s) URL")]
    NotHttpUrl,
    #[error("longer than {0} bytes")]
    TooLong(usize),
    #[error("empty")]
    Empty,
    #[error("contains a character that is not allowed ('/' or a control character)")]
    ForbiddenCharacter,
}

/// A user id (the JWT subject). It is part of state keys (`{user_id}/…`), hence no `/`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(String);

impl UserId {
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        if raw.is_empty() {
            return Err(IdError::Empty);
        }
        if raw.len() > MAX_USER_ID_LEN {
            return Err(IdError::TooLong(MAX_USER_ID_LEN));
        }
        if raw.chars().any(|c| c == '/' || c.is_control()) {
            return Err(IdError::ForbiddenCharacter);
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A podcast feed URL: absolute, http or https, bounded.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FeedUrl(String);

impl FeedUrl {
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(IdError::Empty);
        }
        if raw.len() > MAX_FEED_URL_LEN {
            return Err(IdError::TooLong(MAX_FEED_URL_LEN));
        }
        let url = url::Url::parse(raw).map_err(|_| IdError::NotHttpUrl)?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
            return Err(IdError::NotHttpUrl);
        }
        // Kept as sent (not re-serialised by the URL parser) so that the id a client computed
        // from its URL keeps naming the same feed.
        Ok(Self(raw.to_owned()))
    }

    /// Decodes a feed id (base64url or base64 of the URL) as found in request bodies and paths.
    pub fn from_id(id: &str) -> Result<Self, IdError> {
        let bytes = decode_base64_any(id)?;
        let text = String::from_utf8(bytes).map_err(|_| IdError::InvalidUtf8)?;
        Self::parse(&text)
    }

    /// The canonical id: base64url without padding.
    pub fn id(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0.as_bytes())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FeedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn decode_base64_any(input: &str) -> Result<Vec<u8>, IdError> {
    let input = input.trim();
    if input.is_empty() {
        return Err(IdError::Empty);
    }
    for engine in [&URL_SAFE_NO_PAD, &URL_SAFE, &STANDARD, &STANDARD_NO_PAD] {
        if let Ok(bytes) = engine.decode(input) {
            return Ok(bytes);
        }
    }
    Err(IdError::InvalidBase64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_id_round_trips_through_base64url() {
        let feed = FeedUrl::parse("https://example.com/feed.xml?a=1&b=~").expect("valid");
        assert_eq!(FeedUrl::from_id(&feed.id()).expect("decodes"), feed);
        assert!(!feed.id().contains('='));
    }

    #[test]
    fn standard_base64_with_padding_is_accepted() {
        let std = STANDARD.encode("https://example.com/a?b=c>d");
        assert_eq!(
            FeedUrl::from_id(&std).expect("decodes").as_str(),
            "https://example.com/a?b=c>d"
        );
    }

    #[test]
    fn invalid_inputs_are_rejected_with_their_reason() {
        assert_eq!(FeedUrl::from_id("%%%"), Err(IdError::InvalidBase64));
        assert_eq!(
            FeedUrl::from_id(&URL_SAFE_NO_PAD.encode("ftp://x/y")),
            Err(IdError::NotHttpUrl)
        );
        assert_eq!(
            FeedUrl::from_id(&URL_SAFE_NO_PAD.encode("not a url")),
            Err(IdError::NotHttpUrl)
        );
        assert_eq!(
            FeedUrl::from_id(&URL_SAFE_NO_PAD.encode([0xff, 0xfe])),
            Err(IdError::InvalidUtf8)
        );
        let long = format!("https://e.com/{}", "a".repeat(MAX_FEED_URL_LEN));
        assert_eq!(
            FeedUrl::parse(&long),
            Err(IdError::TooLong(MAX_FEED_URL_LEN))
        );
        assert_eq!(FeedUrl::from_id(""), Err(IdError::Empty));
    }

    #[test]
    fn user_ids_cannot_contain_a_slash() {
        assert_eq!(UserId::parse("a/b"), Err(IdError::ForbiddenCharacter));
        assert_eq!(UserId::parse(""), Err(IdError::Empty));
        assert!(UserId::parse("user-42").is_ok());
    }
}
