//! Usernames: 3 to 30 of `A-Z a-z 0-9 _ -`, unique whatever their case.

use std::fmt;

pub const MIN_LEN: usize = 3;
pub const MAX_LEN: usize = 30;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a username is {MIN_LEN} to {MAX_LEN} of A-Z a-z 0-9 _ -")]
pub struct UsernameError;

/// A username as the user chose it (shown as is; compared by [`Username::key`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, UsernameError> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
        if (MIN_LEN..=MAX_LEN).contains(&raw.len()) && raw.chars().all(allowed) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(UsernameError)
        }
    }

    /// What uniqueness and look-up compare: `Alice` and `alice` are one user.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_bounded_and_compared_without_case() {
        for good in ["abc", "Alice_B-2", &"z".repeat(MAX_LEN)] {
            assert!(Username::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "ab",
            "",
            "a b",
            "émile",
            "a.b",
            "a/b",
            &"z".repeat(MAX_LEN + 1),
        ] {
            assert_eq!(Username::parse(bad), Err(UsernameError), "{bad:?}");
        }
        let (a, b) = (
            Username::parse("Alice").expect("valid"),
            Username::parse("aLICE").expect("valid"),
        );
        assert_eq!(a.key(), b.key());
        assert_eq!(a.as_str(), "Alice", "shown as chosen");
    }
}
