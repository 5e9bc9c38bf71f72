//! Validated identifiers. Feed ids in URLs are base64url of the feed URL; standard base64, with or
//! without padding, is accepted too because clients of the original service send both.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use std::fmt;

/// Longest accepted feed or enclosure URL, in bytes: the longest URL browsers, servers and feeds
/// commonly use. Feed and episode ids (base64 of the URL, of `guid,url`: up to 3,400 bytes) are
/// longer than a PostgreSQL btree entry may be (2,704 bytes), so the read models index a digest of
/// them instead (`docs/limits.md`).
pub const MAX_FEED_URL_LEN: usize = 2_048;
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
        // The URL parser would silently drop tabs and line breaks, and the raw text is what is kept.
        if raw.chars().any(char::is_control) {
            return Err(IdError::ForbiddenCharacter);
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

/// An episode: its GUID and enclosure URL. Its id in URLs is base64url of `guid,enclosure_url`
/// (the original service's encoding); episodes are identified by GUID first, then URL.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ItemId {
    guid: String,
    enclosure_url: String,
}

/// Longest accepted GUID, in bytes (see [`MAX_FEED_URL_LEN`] for why).
pub const MAX_GUID_LEN: usize = 500;

impl ItemId {
    /// Both parts are required; the GUID may itself contain commas, the URL may not be empty.
    pub fn new(guid: &str, enclosure_url: &str) -> Result<Self, IdError> {
        let guid = guid.trim();
        if guid.is_empty() || enclosure_url.trim().is_empty() {
            return Err(IdError::Empty);
        }
        if guid.len() > MAX_GUID_LEN {
            return Err(IdError::TooLong(MAX_GUID_LEN));
        }
        if guid.chars().any(char::is_control) {
            return Err(IdError::ForbiddenCharacter);
        }
        let url = FeedUrl::parse(enclosure_url)?;
        Ok(Self {
            guid: guid.to_owned(),
            enclosure_url: url.0,
        })
    }

    /// Decodes an item id (base64url or base64 of `guid,enclosure_url`). The URL is what follows
    /// the last comma that starts an http(s) URL, so a GUID with commas still parses.
    pub fn from_id(id: &str) -> Result<Self, IdError> {
        let bytes = decode_base64_any(id)?;
        let text = String::from_utf8(bytes).map_err(|_| IdError::InvalidUtf8)?;
        let split = text
            .rmatch_indices(",http")
            .map(|(i, _)| i)
            .next()
            .ok_or(IdError::NotHttpUrl)?;
        Self::new(&text[..split], &text[split + 1..])
    }

    /// The canonical id: base64url without padding of `guid,enclosure_url`.
    pub fn id(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{},{}", self.guid, self.enclosure_url))
    }

    pub fn guid(&self) -> &str {
        &self.guid
    }

    pub fn enclosure_url(&self) -> &str {
        &self.enclosure_url
    }
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
    fn item_ids_round_trip_even_with_commas_in_the_guid() {
        let item = ItemId::new(
            "tag:example.com,2024:ep-1",
            "https://cdn.example.com/ep1.mp3?a=1,2",
        )
        .expect("valid");
        assert_eq!(ItemId::from_id(&item.id()).expect("decodes"), item);
        assert_eq!(item.guid(), "tag:example.com,2024:ep-1");
        let std = STANDARD.encode("guid-1,https://e.com/a.mp3");
        assert_eq!(
            ItemId::from_id(&std).expect("decodes").enclosure_url(),
            "https://e.com/a.mp3"
        );
    }

    #[test]
    fn item_ids_without_both_parts_are_rejected() {
        assert_eq!(
            ItemId::from_id(&URL_SAFE_NO_PAD.encode("no-url-here")),
            Err(IdError::NotHttpUrl)
        );
        assert_eq!(
            ItemId::from_id(&URL_SAFE_NO_PAD.encode(",https://e.com/a.mp3")),
            Err(IdError::Empty)
        );
        assert_eq!(
            ItemId::from_id(&URL_SAFE_NO_PAD.encode("g,http//broken")),
            Err(IdError::NotHttpUrl)
        );
        assert_eq!(ItemId::from_id("%%%"), Err(IdError::InvalidBase64));
    }

    #[test]
    fn user_ids_cannot_contain_a_slash() {
        assert_eq!(UserId::parse("a/b"), Err(IdError::ForbiddenCharacter));
        assert_eq!(UserId::parse(""), Err(IdError::Empty));
        assert!(UserId::parse("user-42").is_ok());
    }
}
