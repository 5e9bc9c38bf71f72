//! The `sync_token` of a sync answer: where the client's reading stands and when its sync was
//! received. `{position}.{time}`, or `{position}.{time}.{s|p}{id}` when a page ended among rows of
//! one position. The same token is the next `last_sync` of a `POST` and the `since` of a
//! continuation (`GET`), so a client that ignores paging still gets the rest on its next syncs.

use balados_platform::http::ApiError;
use balados_schemas::ids::{MAX_FEED_URL_LEN, MAX_GUID_LEN};

/// The longest item id (base64url of `guid,url`); feed ids are shorter.
const MAX_ID_LEN: usize = (MAX_GUID_LEN + 1 + MAX_FEED_URL_LEN).div_ceil(3) * 4;

/// Which read model a row is from. At one position subscriptions come first: the order of
/// answers is (position, kind, id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Subscription,
    Play,
}

/// The last row a reading delivered, when others of its position were left for the next page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct After {
    pub kind: Kind,
    pub id: String,
}

/// Everything up to here was delivered: every row at or before `position`, or — with `after` —
/// every row before that one in the order of answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub position: i64,
    pub after: Option<After>,
}

impl Cursor {
    /// Before every row: rows written before positions existed have 0.
    pub const START: Self = Self {
        position: -1,
        after: None,
    };

    pub fn at(position: i64) -> Self {
        Self {
            position,
            after: None,
        }
    }

    /// The rows of `kind` at the cursor's own position still to deliver: those whose id is above
    /// the returned one (`""`: all of them); `None`: none, only rows beyond the position.
    pub fn tied_after(&self, kind: Kind) -> Option<&str> {
        match &self.after {
            Some(after) if after.kind == kind => Some(&after.id),
            Some(after) if after.kind < kind => Some(""),
            _ => None,
        }
    }
}

/// Not the position as a time (`time`): a large sync runs the positions ahead of the clock, and
/// the aggregate compares playlist changes with when the client last saw the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncToken {
    pub cursor: Cursor,
    /// The server's reception time of the sync that began this reading, Unix seconds.
    pub time: i64,
}

fn invalid() -> ApiError {
    ApiError::validation(
        "invalid_sync_token",
        "the token must be a sync_token we sent",
    )
}

impl SyncToken {
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let number = |s: &str| s.parse::<i64>().ok().filter(|n| *n >= 0);
        let mut parts = raw.splitn(3, '.');
        let (Some(position), Some(time)) =
            (parts.next().and_then(number), parts.next().and_then(number))
        else {
            return Err(invalid());
        };
        let after = parts.next().map(parse_after).transpose()?;
        Ok(Self {
            cursor: Cursor { position, after },
            time,
        })
    }

    pub fn encode(&self) -> String {
        let Cursor { position, after } = &self.cursor;
        match after {
            None => format!("{position}.{}", self.time),
            Some(After { kind, id }) => {
                let kind = match kind {
                    Kind::Subscription => 's',
                    Kind::Play => 'p',
                };
                format!("{position}.{}.{kind}{id}", self.time)
            }
        }
    }
}

fn parse_after(raw: &str) -> Result<After, ApiError> {
    let kind = match raw.as_bytes().first() {
        Some(b's') => Kind::Subscription,
        Some(b'p') => Kind::Play,
        _ => return Err(invalid()),
    };
    let id = &raw[1..];
    let base64url = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    if id.is_empty() || id.len() > MAX_ID_LEN || !id.bytes().all(base64url) {
        return Err(invalid());
    }
    Ok(After {
        kind,
        id: id.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(position: i64, after: Option<(Kind, &str)>) -> SyncToken {
        SyncToken {
            cursor: Cursor {
                position,
                after: after.map(|(kind, id)| After {
                    kind,
                    id: id.to_owned(),
                }),
            },
            time: 1_764_540_000,
        }
    }

    #[test]
    fn a_token_reads_back_as_it_was_written() {
        for t in [
            token(0, None),
            token(1_764_540_123, None),
            token(
                0,
                Some((Kind::Subscription, "aHR0cHM6Ly9leGFtcGxlLmNvbS9h")),
            ),
            token(12, Some((Kind::Play, "Zy0xLGh0dHBzOi8v_-Q"))),
        ] {
            assert_eq!(SyncToken::parse(&t.encode()).ok(), Some(t));
        }
        assert_eq!(token(5, None).encode(), "5.1764540000");
    }

    #[test]
    fn anything_else_is_refused() {
        let long = format!("1.2.s{}", "a".repeat(MAX_ID_LEN + 1));
        for raw in [
            "",
            "yesterday",
            "5",
            "-5.7",
            "5.-7",
            "5.7.",
            "5.7.x1",
            "5.7.s",
            "5.7.sa.b",
            "5.7.s%%",
            &long,
        ] {
            assert!(SyncToken::parse(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn rows_tied_with_the_cursor_are_those_after_it_in_the_order_of_answers() {
        assert_eq!(Cursor::at(7).tied_after(Kind::Subscription), None);
        assert_eq!(Cursor::at(7).tied_after(Kind::Play), None);
        let after_sub = token(0, Some((Kind::Subscription, "b"))).cursor;
        assert_eq!(after_sub.tied_after(Kind::Subscription), Some("b"));
        assert_eq!(after_sub.tied_after(Kind::Play), Some(""));
        let after_play = token(0, Some((Kind::Play, "b"))).cursor;
        assert_eq!(after_play.tied_after(Kind::Subscription), None);
        assert_eq!(after_play.tied_after(Kind::Play), Some("b"));
    }
}
