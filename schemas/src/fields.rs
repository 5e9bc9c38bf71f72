//! The bounded values a user sends besides feed and episode ids (those are in [`crate::ids`]):
//! list and device ids, names, descriptions, device types, source ids, seconds. Each has one
//! `parse` that the ingest applies at the edge (a violation is a 422 at once) and that decoding a
//! command applies again, so the aggregate only ever sees values within these bounds.
//!
//! The bounds are chosen so that every record built from them fits every store downstream: text
//! that PostgreSQL refuses (NUL) or that breaks a single-line field (control characters) is
//! refused; every field is small enough for a Kafka record, and ids small enough for a btree key
//! (the figures are in `docs/limits.md`, and the tests of the crates downstream prove them).

use std::fmt;

/// Longest playlist, collection or device id, in bytes (ASCII only).
pub const MAX_LOCAL_ID_LEN: usize = 64;
/// Longest name, title or device caption, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 2_000;
/// Longest source id a client may attach to a subscription, in bytes.
pub const MAX_SOURCE_ID_LEN: usize = 512;
/// Largest position or duration, in seconds (about 68 years: fits a 32-bit column too).
pub const MAX_SECONDS: i64 = i32::MAX as i64;
/// Episodes one playlist may hold: the aggregate's rule, and the ingest's bound on an order.
pub const MAX_PLAYLIST_ITEMS: usize = 1_000;
/// The bytes of URLs and GUIDs one list (a collection, the default one included, or a playlist)
/// may hold. A list is one state record: this keeps it well under the broker's record limit
/// (Kafka's and librdkafka's default: 1,000,000 bytes) whatever the count limits allow: 5,000
/// subscriptions of 2,048-byte URLs would otherwise make a 10 MB record that no broker takes. A
/// command listing a playlist's items (a new order) is bounded by it too.
pub const MAX_LIST_BYTES: usize = 512 * 1024;
/// The device types of the gpodder.net API.
pub const DEVICE_KINDS: [&str; 5] = ["desktop", "laptop", "mobile", "server", "other"];

/// Why a value was refused. Messages never quote the value: a rejection must stay small whatever
/// was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    #[error("must not be blank")]
    Blank,
    #[error("is longer than {0} {1}")]
    TooLong(usize, &'static str),
    #[error("must not contain control characters")]
    ControlCharacter,
    #[error("must be 1 to {0} of {1}")]
    Charset(usize, &'static str),
    #[error("must be one of {0}")]
    NotOneOf(&'static str),
    #[error("must be between 0 and {0}")]
    OutOfRange(i64),
}

macro_rules! text_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

text_newtype!(
    /// A playlist or collection id: it names a resource in URLs and state keys.
    LocalId
);
text_newtype!(
    /// A device id, as gpodder clients choose them (dots allowed).
    DeviceId
);
text_newtype!(
    /// A required single-line name (playlist name, collection title, device caption), trimmed.
    Name
);
text_newtype!(
    /// A description, trimmed; empty means "none" (an update with an empty one removes it).
    Description
);
text_newtype!(
    /// One of [`DEVICE_KINDS`].
    DeviceKind
);
text_newtype!(
    /// A client's own id of a subscription's source, kept and returned as sent.
    SourceId
);

fn ascii_id(raw: &str, dots: bool) -> Result<String, FieldError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-' || (dots && c == '.');
    if raw.is_empty() || raw.len() > MAX_LOCAL_ID_LEN || !raw.chars().all(allowed) {
        let set = if dots {
            "A-Z a-z 0-9 _ - ."
        } else {
            "A-Z a-z 0-9 _ -"
        };
        return Err(FieldError::Charset(MAX_LOCAL_ID_LEN, set));
    }
    Ok(raw.to_owned())
}

impl LocalId {
    /// 1 to [`MAX_LOCAL_ID_LEN`] of `A-Z a-z 0-9 _ -`, exactly as sent.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        ascii_id(raw, false).map(Self)
    }

    /// The id of a resource the client did not name: its creating command's id (32 hex digits).
    pub fn from_uuid(id: uuid::Uuid) -> Self {
        Self(id.simple().to_string())
    }
}

impl DeviceId {
    /// 1 to [`MAX_LOCAL_ID_LEN`] of `A-Z a-z 0-9 _ - .`, exactly as sent.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        ascii_id(raw, true).map(Self)
    }
}

impl Name {
    /// Trimmed; 1 to [`MAX_NAME_CHARS`] characters, none of them a control character.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        Self::parse_optional(raw)?.ok_or(FieldError::Blank)
    }

    /// As [`Name::parse`], blank meaning none (a device caption left out).
    pub fn parse_optional(raw: &str) -> Result<Option<Self>, FieldError> {
        let trimmed = raw.trim();
        if trimmed.chars().count() > MAX_NAME_CHARS {
            return Err(FieldError::TooLong(MAX_NAME_CHARS, "characters"));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(FieldError::ControlCharacter);
        }
        Ok((!trimmed.is_empty()).then(|| Self(trimmed.to_owned())))
    }
}

impl Description {
    /// Trimmed; at most [`MAX_DESCRIPTION_CHARS`] characters; line breaks and tabs are kept, any
    /// other control character (NUL first: PostgreSQL refuses it in text) is refused.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let trimmed = raw.trim();
        if trimmed.chars().count() > MAX_DESCRIPTION_CHARS {
            return Err(FieldError::TooLong(MAX_DESCRIPTION_CHARS, "characters"));
        }
        if trimmed
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err(FieldError::ControlCharacter);
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl DeviceKind {
    /// Exactly one of [`DEVICE_KINDS`].
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        if DEVICE_KINDS.contains(&raw) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(FieldError::NotOneOf(
                "desktop, laptop, mobile, server, other",
            ))
        }
    }
}

impl SourceId {
    /// At most [`MAX_SOURCE_ID_LEN`] bytes, no control character; kept as sent.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        if raw.len() > MAX_SOURCE_ID_LEN {
            return Err(FieldError::TooLong(MAX_SOURCE_ID_LEN, "bytes"));
        }
        if raw.chars().any(char::is_control) {
            return Err(FieldError::ControlCharacter);
        }
        Ok(Self(raw.to_owned()))
    }
}

/// A position or a duration in whole seconds: 0 to [`MAX_SECONDS`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Seconds(u32);

impl Seconds {
    pub fn parse(raw: i64) -> Result<Self, FieldError> {
        u32::try_from(raw)
            .ok()
            .filter(|s| i64::from(*s) <= MAX_SECONDS)
            .map(Self)
            .ok_or(FieldError::OutOfRange(MAX_SECONDS))
    }

    pub fn get(self) -> u64 {
        u64::from(self.0)
    }

    /// `raw`, or [`MAX_SECONDS`] when it is larger.
    pub fn clamped(raw: u64) -> Self {
        let max = u32::try_from(MAX_SECONDS).unwrap_or(u32::MAX);
        Self(u32::try_from(raw).unwrap_or(u32::MAX).min(max))
    }
}

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests;
