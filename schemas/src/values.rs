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

/// What a gpodder-style episode action says the user did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EpisodeAction {
    /// Played (part of) it: with a position, and a start and a total when the client knows them.
    Play,
    /// Downloaded it.
    Download,
    /// Deleted its download.
    Delete,
    /// Marked it unplayed (new).
    New,
}

impl EpisodeAction {
    /// Exactly `play`, `download`, `delete` or `new` (lower case, as the protocol writes them).
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "play" => Some(Self::Play),
            "download" => Some(Self::Download),
            "delete" => Some(Self::Delete),
            "new" => Some(Self::New),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Play => "play",
            Self::Download => "download",
            Self::Delete => "delete",
            Self::New => "new",
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
