//! Small domain values shared by commands, events and state records.

use crate::ids::{FeedUrl, ItemId};
use std::fmt;

/// What a privacy setting (or a removal of public events) applies to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Everything the user does.
    Global,
    /// One feed and its episodes.
    Feed(FeedUrl),
    /// One episode.
    Item(ItemId),
}

/// Who may see a user's activity. The most specific setting applies (episode, feed, global);
/// without any, activity is public.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Privacy {
    /// Published with the user id.
    Public,
    /// Published without the user id.
    Anonymous,
    /// Not published, not counted in popularity.
    Private,
}

impl Privacy {
    /// Exactly `public`, `anonymous` or `private`; anything else is `None` (never a default).
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "public" => Some(Self::Public),
            "anonymous" => Some(Self::Anonymous),
            "private" => Some(Self::Private),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Anonymous => "anonymous",
            Self::Private => "private",
        }
    }
}

impl fmt::Display for Privacy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn privacy_values_are_exact_and_never_default_to_public() {
        for p in [Privacy::Public, Privacy::Anonymous, Privacy::Private] {
            assert_eq!(Privacy::parse(p.as_str()), Some(p));
        }
        for bad in ["", "Public", "friends", "public ", "PRIVATE"] {
            assert_eq!(Privacy::parse(bad), None, "{bad:?}");
        }
    }
}
