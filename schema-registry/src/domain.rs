//! Values parsed at the edge: nothing unvalidated from a URL reaches the store.

use std::fmt;

use crate::error::RegistryError;

/// A subject name (with the topic-name strategy: `<topic>-value` / `<topic>-key`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject(String);

impl Subject {
    /// Accepts any non-empty name without control characters, as Confluent does; anything else
    /// would be unreadable in listings and logs.
    pub fn parse(raw: &str) -> Result<Self, RegistryError> {
        if raw.is_empty() || raw.chars().any(char::is_control) {
            return Err(RegistryError::InvalidSubject(raw.to_owned()));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which version of a subject a URL designates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionSelector {
    /// `latest` (or `-1`, which Confluent clients also send).
    Latest,
    /// An explicit version, always in `1..=i32::MAX`.
    Number(i32),
}

impl VersionSelector {
    /// Confluent accepts `latest`, `-1` and positive 32-bit integers; everything else is 42202.
    pub fn parse(raw: &str) -> Result<Self, RegistryError> {
        if raw.eq_ignore_ascii_case("latest") {
            return Ok(Self::Latest);
        }
        match raw.parse::<i32>() {
            Ok(-1) => Ok(Self::Latest),
            Ok(n) if n >= 1 => Ok(Self::Number(n)),
            _ => Err(RegistryError::InvalidVersion(raw.to_owned())),
        }
    }
}

/// A global schema id from `/schemas/ids/{id}`; a non-numeric id designates no schema (40403).
pub fn parse_schema_id(raw: &str) -> Result<i32, RegistryError> {
    raw.parse::<i32>()
        .map_err(|_| RegistryError::SchemaNotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_and_minus_one_select_the_latest_version() {
        assert_eq!(
            VersionSelector::parse("latest").ok(),
            Some(VersionSelector::Latest)
        );
        assert_eq!(
            VersionSelector::parse("LATEST").ok(),
            Some(VersionSelector::Latest)
        );
        assert_eq!(
            VersionSelector::parse("-1").ok(),
            Some(VersionSelector::Latest)
        );
    }

    #[test]
    fn positive_integers_select_that_version() {
        assert_eq!(
            VersionSelector::parse("1").ok(),
            Some(VersionSelector::Number(1))
        );
        assert_eq!(
            VersionSelector::parse("2147483647").ok(),
            Some(VersionSelector::Number(i32::MAX))
        );
    }

    #[test]
    fn zero_negative_overflowing_and_words_are_invalid_versions() {
        for raw in ["0", "-2", "2147483648", "first", "", "1.5"] {
            let err = VersionSelector::parse(raw).err();
            assert!(
                matches!(err, Some(RegistryError::InvalidVersion(_))),
                "{raw:?} should be an invalid version"
            );
        }
    }

    #[test]
    fn subjects_must_be_non_empty_and_printable() {
        assert!(Subject::parse("balados.events.v1-value").is_ok());
        assert!(Subject::parse("").is_err());
        assert!(Subject::parse("bad\nsubject").is_err());
    }

    #[test]
    fn non_numeric_schema_ids_are_not_found() {
        assert_eq!(parse_schema_id("42").ok(), Some(42));
        assert!(matches!(
            parse_schema_id("abc"),
            Err(RegistryError::SchemaNotFound)
        ));
    }
}
