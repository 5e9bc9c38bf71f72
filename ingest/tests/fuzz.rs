//! Property tests of the write API's request headers, fed arbitrary values: `Prefer` and
//! `Idempotency-Key`. Each gives a bounded value or a 422 in the error shape, never a panic.
//! `PROPTEST_CASES=100000 cargo test -p balados-ingest --test fuzz` runs longer.

// `idempotency` is private to the crate: its source is compiled here as it is, so that the
// property tests run the very code the routes call without widening the crate's interface.
#[path = "../src/idempotency.rs"]
mod idempotency;

use axum::http::{HeaderMap, HeaderValue};
use balados_ingest::prefer::{MAX_WAIT, requested_wait};
use proptest::prelude::*;
use std::time::Duration;

/// Every header value the HTTP layer can hand over: any bytes but the few it refuses.
fn header_value() -> impl Strategy<Value = HeaderValue> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..80),
        "[ -~]{0,80}".prop_map(String::into_bytes),
    ]
    .prop_filter_map("not a header value", |b| HeaderValue::from_bytes(&b).ok())
}

fn headers(name: &'static str, values: Vec<HeaderValue>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for value in values {
        headers.append(name, value);
    }
    headers
}

/// `Prefer` values with a wait among other preferences, spaced and quoted in any way.
fn prefer_with_wait() -> impl Strategy<Value = (String, u64)> {
    (
        prop::sample::select(vec![
            "",
            "respond-async, ",
            "return=minimal,",
            "handling=lenient , ",
        ]),
        prop::sample::select(vec!["wait", "Wait", "WAIT", " wait "]),
        any::<u64>(),
        any::<bool>(),
        prop::sample::select(vec!["", "; x=1", ", respond-async"]),
    )
        .prop_map(|(before, name, secs, quoted, after)| {
            let value = if quoted {
                format!("\"{secs}\"")
            } else {
                secs.to_string()
            };
            (format!("{before}{name}={value}{after}"), secs)
        })
}

proptest! {
    #[test]
    fn any_prefer_header_gives_no_wait_or_one_within_the_maximum(
        values in prop::collection::vec(header_value(), 0..4),
    ) {
        if let Some(wait) = requested_wait(&headers("prefer", values)) {
            prop_assert!(wait > Duration::ZERO && wait <= MAX_WAIT, "{:?}", wait);
        }
    }

    #[test]
    fn a_requested_wait_is_read_whole_and_clamped((value, secs) in prefer_with_wait()) {
        let value = HeaderValue::from_str(&value).expect("printable");
        let expected = (secs > 0).then(|| Duration::from_secs(secs).min(MAX_WAIT));
        prop_assert_eq!(requested_wait(&headers("prefer", vec![value])), expected);
    }

    #[test]
    fn any_idempotency_key_is_a_stable_command_id_or_a_422(
        value in header_value(),
        user in "[a-z0-9-]{1,12}",
        app in "[a-z0-9-]{1,12}",
    ) {
        let map = headers("idempotency-key", vec![value.clone()]);
        match idempotency::command_id(&map, &user, &app) {
            Ok(id) => {
                let key = value.to_str().expect("accepted keys are ASCII").trim();
                prop_assert!(!key.is_empty() && key.len() <= idempotency::MAX_KEY_LEN);
                prop_assert!(key.bytes().all(|b| b.is_ascii_graphic() || b == b' '));
                // The same request again is the same command; another user's is not.
                prop_assert_eq!(idempotency::command_id(&map, &user, &app).ok(), Some(id));
                let other = format!("{user}x");
                prop_assert_ne!(idempotency::command_id(&map, &other, &app).ok(), Some(id));
            }
            Err(e) => {
                prop_assert_eq!(e.status.as_u16(), 422);
                prop_assert_eq!(e.code, "invalid_idempotency_key");
            }
        }
    }
}
