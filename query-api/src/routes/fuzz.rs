//! Property tests of the parsers of the read API's input, fed arbitrary and damaged text: query
//! parameters, cursors and consistency tokens. Each answers a 422 with a stable code or values
//! PostgreSQL accepts, never a panic; what the API hands out (cursors, tokens) parses back to
//! itself. `PROPTEST_CASES=100000 cargo test -p balados-query-api fuzz` runs longer.

use super::params::{self, Params};
use crate::consistency::Token;
use crate::cursor::{self, Cursor, PG_MIN_MICROS};
use balados_platform::http::ApiError;
use chrono::DateTime;
use proptest::prelude::*;

/// Every code the parameter checks may answer.
const CODES: &[&str] = &[
    "invalid_limit",
    "invalid_offset",
    "offset_too_large",
    "invalid_cursor",
    "invalid_paging",
    "invalid_boolean",
    "invalid_feed_id",
    "invalid_item_id",
    "invalid_user_id",
    "invalid_event_type",
    "invalid_period",
    "invalid_id",
    "invalid_path",
];

/// A refusal in the error shape: 422 with a known code and a message.
fn refused(error: &ApiError) -> Result<(), TestCaseError> {
    prop_assert_eq!(error.status.as_u16(), 422, "{:?}", error);
    prop_assert!(CODES.contains(&error.code), "{:?}", error);
    prop_assert!(!error.message.is_empty());
    Ok(())
}

/// Text PostgreSQL stores in a `text` column: no NUL byte.
fn pg_text(s: &str) -> bool {
    !s.contains('\0')
}

/// Microseconds chrono and PostgreSQL both hold (chrono's end, 262143 AD, is PostgreSQL's too).
fn pg_micros() -> impl Strategy<Value = i64> {
    let chrono_max = DateTime::<chrono::Utc>::MAX_UTC.timestamp_micros();
    prop_oneof![
        PG_MIN_MICROS..=chrono_max,
        // Around now, where real cursors are.
        1_600_000_000_000_000i64..1_900_000_000_000_000,
        Just(PG_MIN_MICROS),
        Just(chrono_max),
    ]
}

/// An id as the API puts in cursors: base64url, or an event's UUID.
fn cursor_id() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9_-]{1,200}",
        any::<u128>().prop_map(|n| uuid::Uuid::from_u128(n).to_string()),
    ]
}

fn valid_cursor() -> impl Strategy<Value = Cursor> {
    (pg_micros(), cursor_id()).prop_map(|(micros, id)| Cursor {
        time: DateTime::from_timestamp_micros(micros).unwrap_or_default(),
        id,
    })
}

/// A cursor's text damaged: cut short, a character inserted, or one replaced.
fn damaged(raw: &str, at: usize, kind: u8, with: char) -> String {
    let mut chars: Vec<char> = raw.chars().collect();
    let at = at % (chars.len() + 1);
    match kind % 3 {
        0 => chars.truncate(at),
        1 => chars.insert(at, with),
        _ => {
            if let Some(c) = chars.get_mut(at) {
                *c = with;
            }
        }
    }
    chars.into_iter().collect()
}

/// Values a client might send: anything, numbers of every size, and cursors good and damaged.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "-?[0-9]{1,45}",
        prop::sample::select(vec![
            "true", "false", "day", "all", "play", "", "0", "10000"
        ])
        .prop_map(str::to_owned),
        valid_cursor().prop_map(|c| c.encode()),
        (valid_cursor(), any::<usize>(), any::<u8>(), any::<char>())
            .prop_map(|(c, at, kind, with)| damaged(&c.encode(), at, kind, with)),
        (any::<i64>(), any::<String>()).prop_map(|(micros, id)| {
            use base64::Engine as _;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{micros},{id}"))
        }),
    ]
}

fn query() -> impl Strategy<Value = Params> {
    let key = prop_oneof![
        prop::sample::select(vec![
            "limit",
            "offset",
            "cursor",
            "played",
            "feed",
            "item",
            "user_id",
            "event_type",
            "period",
        ])
        .prop_map(str::to_owned),
        any::<String>(),
    ];
    prop::collection::hash_map(key, value(), 0..6)
}

proptest! {
    #[test]
    fn any_query_is_refused_or_gives_values_postgresql_accepts(query in query()) {
        match params::keyset_paging(&query) {
            Err(e) => refused(&e)?,
            Ok(page) => {
                prop_assert!((1..=params::MAX_LIMIT).contains(&page.limit));
                prop_assert!((0..=params::MAX_OFFSET).contains(&page.offset));
                if let Some(after) = page.after {
                    prop_assert!(after.time.timestamp_micros() >= PG_MIN_MICROS);
                    prop_assert!(pg_text(&after.id) && after.id.len() <= cursor::MAX_ID_LEN);
                }
            }
        }
        match params::paging(&query) {
            Err(e) => refused(&e)?,
            Ok((limit, offset)) => {
                prop_assert!((1..=params::MAX_LIMIT).contains(&limit));
                prop_assert!((0..=params::MAX_OFFSET).contains(&offset));
            }
        }
        let texts = [
            params::feed(&query, "feed"),
            params::item(&query, "item"),
            params::user(&query, "user_id"),
            params::one_of(&query, "period", &["day", "all"], "invalid_period")
                .map(|p| p.map(str::to_owned)),
        ];
        for text in texts {
            match text {
                Err(e) => refused(&e)?,
                Ok(text) => prop_assert!(text.as_deref().is_none_or(pg_text)),
            }
        }
        if let Err(e) = params::boolean(&query, "played") {
            refused(&e)?;
        }
        for raw in query.values() {
            match params::list_id(raw) {
                Err(e) => refused(&e)?,
                Ok(id) => prop_assert!(pg_text(id) && id.len() <= 64),
            }
        }
    }

    #[test]
    fn any_cursor_text_is_refused_or_reencodes_to_itself(raw in value()) {
        if let Ok(cursor) = Cursor::parse(&raw) {
            prop_assert!(cursor.time.timestamp_micros() >= PG_MIN_MICROS);
            prop_assert_eq!(Cursor::parse(&cursor.encode()), Ok(cursor));
        }
    }

    #[test]
    fn a_cursor_the_api_gives_parses_back(cursor in valid_cursor()) {
        prop_assert_eq!(Cursor::parse(&cursor.encode()), Ok(cursor));
    }

    #[test]
    fn query_timestamps_are_those_postgresql_holds(micros: i64) {
        match cursor::pg_timestamp(micros) {
            Some(time) => {
                prop_assert!(micros >= PG_MIN_MICROS);
                prop_assert_eq!(time.timestamp_micros(), micros);
            }
            None => prop_assert!(
                micros < PG_MIN_MICROS || DateTime::from_timestamp_micros(micros).is_none()
            ),
        }
    }

    #[test]
    fn any_consistency_token_is_refused_or_reprints_to_itself(
        raw in prop_oneof![
            any::<String>(),
            "v[0-9]\\.-?[0-9]{1,12}\\.-?[0-9]{1,21}(\\.[0-9])?",
            (any::<i64>(), any::<i64>()).prop_map(|(p, o)| format!("v1.{p}.{o}")),
        ],
    ) {
        if let Some(token) = Token::parse(&raw) {
            prop_assert!(token.partition >= 0 && token.next_offset >= 0);
            let printed = format!("v1.{}.{}", token.partition, token.next_offset);
            prop_assert_eq!(Token::parse(&printed), Some(token));
        }
    }

    #[test]
    fn a_token_from_an_outcome_parses_back(partition in 0..=i32::MAX, offset in 0..=i64::MAX) {
        let token = Token::parse(&format!("v1.{partition}.{offset}"));
        prop_assert_eq!(token, Some(Token { partition, next_offset: offset }));
    }
}
