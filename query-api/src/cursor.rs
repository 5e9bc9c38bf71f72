//! The opaque `cursor` of keyset paging: base64url (no padding) of `{microseconds},{id}`, the time
//! and id of the last row of the previous page, as the API handed it out in `next_cursor`. It is
//! checked whole before a query is built: a cursor PostgreSQL would refuse (a time outside its
//! range, a NUL byte in the id) is the client's error (422), not an unavailable read model (503).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};

/// Longest id a cursor may carry, in bytes. The ids are canonical feed, episode and event ids
/// (base64url, or a UUID); the longest episode id the API ever accepted (a GUID of 1,024 bytes and
/// a URL of 2,048) is 4,098 characters.
pub const MAX_ID_LEN: usize = 4_608;

/// Longest cursor, in characters: the base64url of 20 digits of microseconds, a comma and the
/// longest id.
pub const MAX_LEN: usize = (20 + 1 + MAX_ID_LEN).div_ceil(3) * 4;

/// The earliest instant PostgreSQL's `timestamptz` holds, 4714-11-24 00:00 UTC BC, in
/// microseconds since the Unix epoch. Its latest (294276 AD) is beyond chrono's (262143 AD).
pub const PG_MIN_MICROS: i64 = -210_866_803_200_000_000;

/// The position after which the next page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub time: DateTime<Utc>,
    pub id: String,
}

/// Why a cursor is not one this API gave.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CursorError {
    #[error("longer than {MAX_LEN} characters")]
    TooLong,
    #[error("not base64url")]
    NotBase64,
    #[error("not \"{{microseconds}},{{id}}\"")]
    Fields,
    #[error("its time is not an integer number of microseconds")]
    Time,
    #[error("its time is outside what PostgreSQL stores (4713 BC to 294276 AD)")]
    TimeOutOfRange,
    #[error("its id is empty, longer than {MAX_ID_LEN} bytes or not base64url or a UUID")]
    Id,
}

impl Cursor {
    pub fn parse(raw: &str) -> Result<Self, CursorError> {
        if raw.len() > MAX_LEN {
            return Err(CursorError::TooLong);
        }
        let decoded = URL_SAFE_NO_PAD
            .decode(raw)
            .map_err(|_| CursorError::NotBase64)?;
        let text = String::from_utf8(decoded).map_err(|_| CursorError::Fields)?;
        let (micros, id) = text.split_once(',').ok_or(CursorError::Fields)?;
        let micros = micros.parse::<i64>().map_err(|_| CursorError::Time)?;
        let time = pg_timestamp(micros).ok_or(CursorError::TimeOutOfRange)?;
        // A second comma is a third field: ids are base64url or UUIDs, neither has one.
        let id_char = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
        if id.is_empty() || id.len() > MAX_ID_LEN || !id.bytes().all(id_char) {
            return Err(CursorError::Id);
        }
        Ok(Self {
            time,
            id: id.to_owned(),
        })
    }

    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{},{}", self.time.timestamp_micros(), self.id))
    }
}

/// The instant `micros` after the Unix epoch, when both chrono and PostgreSQL can hold it: a time
/// PostgreSQL refuses would make the query fail. Every time in a query parameter goes through this.
pub fn pg_timestamp(micros: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_micros(micros).filter(|_| micros >= PG_MIN_MICROS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> String {
        URL_SAFE_NO_PAD.encode(text)
    }

    #[test]
    fn a_cursor_round_trips() {
        let time = DateTime::from_timestamp_micros(1_764_000_000_123_456).expect("valid");
        let cursor = Cursor {
            time,
            id: "aWQ".to_owned(),
        };
        assert_eq!(Cursor::parse(&cursor.encode()), Ok(cursor));
    }

    #[test]
    fn each_malformed_part_is_named() {
        assert_eq!(Cursor::parse("!!"), Err(CursorError::NotBase64));
        assert_eq!(Cursor::parse(&raw("nocomma")), Err(CursorError::Fields));
        assert_eq!(Cursor::parse(&raw("x,aWQ")), Err(CursorError::Time));
        assert_eq!(Cursor::parse(&raw("1,a,b")), Err(CursorError::Id));
        assert_eq!(Cursor::parse(&raw("1,")), Err(CursorError::Id));
        assert_eq!(Cursor::parse(&raw("1,a\0b")), Err(CursorError::Id));
        let long = raw(&format!("1,{}", "a".repeat(MAX_ID_LEN + 1)));
        assert_eq!(Cursor::parse(&long), Err(CursorError::Id));
        assert_eq!(
            Cursor::parse(&"A".repeat(MAX_LEN + 1)),
            Err(CursorError::TooLong)
        );
    }

    #[test]
    fn times_postgresql_cannot_hold_are_refused_at_its_exact_bound() {
        // PostgreSQL's first instant is accepted, the microsecond before it is not.
        let first = raw(&format!("{PG_MIN_MICROS},aWQ"));
        assert!(Cursor::parse(&first).is_ok());
        let before = raw(&format!("{},aWQ", PG_MIN_MICROS - 1));
        assert_eq!(Cursor::parse(&before), Err(CursorError::TimeOutOfRange));
        // Beyond chrono's range (year 262143) as well.
        let far = raw(&format!("{},aWQ", i64::MAX));
        assert_eq!(Cursor::parse(&far), Err(CursorError::TimeOutOfRange));
        let uuid = raw("0,6f1c4b0e-3a52-4c1e-9d0b-2f7a8e5c1d34");
        assert!(Cursor::parse(&uuid).is_ok());
    }
}
