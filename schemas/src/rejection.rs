//! Why the aggregate refused a command: one stable code per reason, produced by the domain (and by
//! the aggregator for a command whose records cannot be written), carried as text in command
//! results and state records, and mapped to an HTTP status in one place (the platform's outcome).

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectionCode {
    /// An unknown playlist or collection, a position update without a play.
    NotFound,
    /// A playlist or collection id already taken.
    AlreadyExists,
    CannotDeleteDefaultCollection,
    /// Adding to a collection a feed the user does not follow.
    FeedNotSubscribed,
    /// An id the rules reserve (`default`).
    InvalidId,
    /// A new order that does not list each item of the playlist exactly once.
    InvalidOrder,
    /// A position beyond the known duration.
    InvalidPosition,
    /// A per-user limit (count or bytes of a list).
    LimitExceeded,
    /// A position outside the collection.
    PositionOutOfBounds,
    /// A change whose records would be larger than the producer accepts.
    TooLarge,
    /// Any command of a user whose account is deleted (a repeated deletion aside): the id never
    /// lives again.
    AccountDeleted,
}

impl RejectionCode {
    pub const ALL: [Self; 11] = [
        Self::NotFound,
        Self::AlreadyExists,
        Self::CannotDeleteDefaultCollection,
        Self::FeedNotSubscribed,
        Self::InvalidId,
        Self::InvalidOrder,
        Self::InvalidPosition,
        Self::LimitExceeded,
        Self::PositionOutOfBounds,
        Self::TooLarge,
        Self::AccountDeleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::AlreadyExists => "already_exists",
            Self::CannotDeleteDefaultCollection => "cannot_delete_default_collection",
            Self::FeedNotSubscribed => "feed_not_subscribed",
            Self::InvalidId => "invalid_id",
            Self::InvalidOrder => "invalid_order",
            Self::InvalidPosition => "invalid_position",
            Self::LimitExceeded => "limit_exceeded",
            Self::PositionOutOfBounds => "position_out_of_bounds",
            Self::TooLarge => "too_large",
            Self::AccountDeleted => "account_deleted",
        }
    }

    /// The code of a stored result; `None` for one this version does not produce (results
    /// recorded by an earlier version may carry codes since moved to the API's validation).
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == raw)
    }
}

impl fmt::Display for RejectionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Adding a variant breaks this match; then `ALL` must list it, or the length check fails.
    fn ordinal(code: RejectionCode) -> usize {
        use RejectionCode as C;
        match code {
            C::NotFound => 0,
            C::AlreadyExists => 1,
            C::CannotDeleteDefaultCollection => 2,
            C::FeedNotSubscribed => 3,
            C::InvalidId => 4,
            C::InvalidOrder => 5,
            C::InvalidPosition => 6,
            C::LimitExceeded => 7,
            C::PositionOutOfBounds => 8,
            C::TooLarge => 9,
            C::AccountDeleted => 10,
        }
    }

    #[test]
    fn all_lists_every_code_once() {
        assert_eq!(RejectionCode::ALL.len(), 11);
        for (i, code) in RejectionCode::ALL.into_iter().enumerate() {
            assert_eq!(ordinal(code), i, "{code}");
        }
    }

    #[test]
    fn every_code_has_its_own_text_and_parses_back() {
        let mut texts: Vec<&str> = RejectionCode::ALL.iter().map(|c| c.as_str()).collect();
        for code in RejectionCode::ALL {
            assert_eq!(RejectionCode::parse(code.as_str()), Some(code));
        }
        texts.sort_unstable();
        texts.dedup();
        assert_eq!(texts.len(), RejectionCode::ALL.len());
        assert_eq!(RejectionCode::parse("invalid_name"), None);
    }
}
