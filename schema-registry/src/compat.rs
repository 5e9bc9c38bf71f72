//! Compatibility levels and the check a new schema must pass against a subject's earlier versions.
//!
//! The rules are Confluent's: BACKWARD means consumers using the new schema can read data written
//! with the old ones (old = writer, new = reader), FORWARD the reverse, FULL both; the transitive
//! levels check every earlier live version, the others only the latest. Only a *full* match from
//! `apache_avro` counts: a "partial" one (a union or enum that resolves only for some values)
//! would let some records fail at read time, which Confluent also rejects.

use std::fmt;
use std::str::FromStr;

use apache_avro::Schema;
use apache_avro::schema_compatibility::{Compatibility, SchemaCompatibility};

use crate::error::RegistryError;

/// The level applied to a subject. The project's global default is [`Self::DEFAULT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompatibilityLevel {
    None,
    Backward,
    BackwardTransitive,
    Forward,
    ForwardTransitive,
    Full,
    FullTransitive,
}

impl CompatibilityLevel {
    /// Events are replayed from the beginning of their topics, so every consumer must read every
    /// earlier version, not only the previous one (README, "Topics").
    pub const DEFAULT: Self = Self::BackwardTransitive;

    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "NONE",
            Self::Backward => "BACKWARD",
            Self::BackwardTransitive => "BACKWARD_TRANSITIVE",
            Self::Forward => "FORWARD",
            Self::ForwardTransitive => "FORWARD_TRANSITIVE",
            Self::Full => "FULL",
            Self::FullTransitive => "FULL_TRANSITIVE",
        }
    }

    fn is_transitive(self) -> bool {
        matches!(
            self,
            Self::BackwardTransitive | Self::ForwardTransitive | Self::FullTransitive
        )
    }

    /// Whether the new schema must read old data (backward) and old schemas new data (forward).
    fn directions(self) -> (bool, bool) {
        match self {
            Self::None => (false, false),
            Self::Backward | Self::BackwardTransitive => (true, false),
            Self::Forward | Self::ForwardTransitive => (false, true),
            Self::Full | Self::FullTransitive => (true, true),
        }
    }
}

impl FromStr for CompatibilityLevel {
    type Err = RegistryError;

    /// Case-insensitive, as Confluent accepts `backward` as well as `BACKWARD`.
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let level = match raw.to_ascii_uppercase().as_str() {
            "NONE" => Self::None,
            "BACKWARD" => Self::Backward,
            "BACKWARD_TRANSITIVE" => Self::BackwardTransitive,
            "FORWARD" => Self::Forward,
            "FORWARD_TRANSITIVE" => Self::ForwardTransitive,
            "FULL" => Self::Full,
            "FULL_TRANSITIVE" => Self::FullTransitive,
            _ => return Err(RegistryError::InvalidCompatibilityLevel(raw.to_owned())),
        };
        Ok(level)
    }
}

impl fmt::Display for CompatibilityLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An earlier version of the subject, oldest first in the slices below.
#[derive(Debug)]
pub struct Earlier {
    pub version: i32,
    pub schema: Schema,
}

/// Checks `new` against the earlier versions the level selects (all for transitive levels, the
/// latest otherwise) and returns one message per failure; an empty list means compatible.
pub fn check(level: CompatibilityLevel, new: &Schema, earlier: &[Earlier]) -> Vec<String> {
    let selected = if level.is_transitive() {
        earlier
    } else {
        earlier
            .len()
            .checked_sub(1)
            .map_or(&[][..], |i| &earlier[i..])
    };
    check_each(level, new, selected)
}

/// Checks `new` against each of `against` in the level's directions, ignoring transitivity
/// (used when the caller names one version explicitly).
pub fn check_each(level: CompatibilityLevel, new: &Schema, against: &[Earlier]) -> Vec<String> {
    let (backward, forward) = level.directions();
    let mut messages = Vec::new();
    for old in against {
        if backward && let Some(why) = incompatibility(&old.schema, new) {
            messages.push(format!(
                "{level}: the new schema cannot read data written with version {}: {why}",
                old.version
            ));
        }
        if forward && let Some(why) = incompatibility(new, &old.schema) {
            messages.push(format!(
                "{level}: version {} cannot read data written with the new schema: {why}",
                old.version
            ));
        }
    }
    messages
}

/// Why `reader` cannot read everything written with `writer`, or `None` when it always can.
fn incompatibility(writer: &Schema, reader: &Schema) -> Option<String> {
    match SchemaCompatibility::can_read(writer, reader) {
        Ok(Compatibility::Full) => None,
        Ok(Compatibility::Partial) => Some(
            "only some values can be read (a union branch or enum symbol is missing)".to_owned(),
        ),
        Err(e) => Some(e.to_string()),
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn record(fields: &str) -> Schema {
        Schema::parse_str(&format!(
            r#"{{"type":"record","name":"Play","namespace":"balados","fields":[{fields}]}}"#
        ))
        .unwrap()
    }

    fn v(version: i32, schema: Schema) -> Earlier {
        Earlier { version, schema }
    }

    const ID: &str = r#"{"name":"id","type":"string"}"#;
    const POS_DEFAULT: &str = r#"{"name":"pos","type":"long","default":0}"#;
    const POS: &str = r#"{"name":"pos","type":"long"}"#;

    #[test]
    fn levels_parse_case_insensitively_and_round_trip() {
        for name in [
            "NONE",
            "BACKWARD",
            "BACKWARD_TRANSITIVE",
            "FORWARD",
            "FORWARD_TRANSITIVE",
            "FULL",
            "FULL_TRANSITIVE",
        ] {
            let level: CompatibilityLevel = name.to_lowercase().parse().unwrap();
            assert_eq!(level.as_str(), name);
        }
        assert!("SIDEWAYS".parse::<CompatibilityLevel>().is_err());
    }

    #[test]
    fn adding_a_field_with_a_default_is_backward_compatible() {
        let new = record(&format!("{ID},{POS_DEFAULT}"));
        let old = [v(1, record(ID))];
        assert!(check(CompatibilityLevel::Backward, &new, &old).is_empty());
    }

    #[test]
    fn adding_a_field_without_default_breaks_backward_but_not_forward() {
        let new = record(&format!("{ID},{POS}"));
        let old = [v(1, record(ID))];
        assert_eq!(check(CompatibilityLevel::Backward, &new, &old).len(), 1);
        assert!(check(CompatibilityLevel::Forward, &new, &old).is_empty());
        assert_eq!(check(CompatibilityLevel::Full, &new, &old).len(), 1);
        assert!(check(CompatibilityLevel::None, &new, &old).is_empty());
    }

    #[test]
    fn non_transitive_levels_only_look_at_the_latest_version() {
        // v1 has no `pos`; v2 added it without a default after v1 (as allowed under NONE);
        // v3 == v2 reads v2's data but not v1's.
        let earlier = [v(1, record(ID)), v(2, record(&format!("{ID},{POS}")))];
        let new = record(&format!("{ID},{POS}"));
        assert!(check(CompatibilityLevel::Backward, &new, &earlier).is_empty());
        let messages = check(CompatibilityLevel::BackwardTransitive, &new, &earlier);
        assert_eq!(messages.len(), 1);
        assert!(messages[0].contains("version 1"), "{messages:?}");
    }

    #[test]
    fn partial_matches_count_as_incompatible() {
        let old = Schema::parse_str(r#"["int","string"]"#).unwrap();
        let new = Schema::parse_str(r#""int""#).unwrap();
        assert_eq!(
            check(CompatibilityLevel::Backward, &new, &[v(1, old)]).len(),
            1
        );
    }

    #[test]
    fn a_subject_without_versions_accepts_anything() {
        let new = record(ID);
        assert!(check(CompatibilityLevel::FullTransitive, &new, &[]).is_empty());
        assert!(check(CompatibilityLevel::Full, &new, &[]).is_empty());
    }
}
