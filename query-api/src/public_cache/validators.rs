//! What lets a client keep a public answer and ask again cheaply: a strong `ETag` from the body
//! (RFC 9110 §8.8.3), `If-None-Match` evaluated with the weak comparison that RFC 9110 §13.1.2
//! prescribes, and `Cache-Control` (RFC 9111 §5.2) from what is left of the entry's life.

use axum::http::HeaderValue;
use sha2::{Digest as _, Sha256};
use tokio::time::Instant;

/// Bytes of the SHA-256 kept in a tag: 128 bits, far beyond any chance of two answers colliding.
const TAG_BYTES: usize = 16;

/// The strong tag of `body`: its SHA-256, truncated, in hex, quoted. Derived from the bytes alone,
/// so every instance behind a balancer gives the same answer the same tag.
pub fn etag(body: &[u8]) -> HeaderValue {
    let digest = Sha256::digest(body);
    let mut tag = String::with_capacity(2 * TAG_BYTES + 2);
    tag.push('"');
    for byte in &digest[..TAG_BYTES] {
        tag.push(char::from(HEX[usize::from(byte >> 4)]));
        tag.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    tag.push('"');
    HeaderValue::from_str(&tag).expect("quoted hex is a valid header value")
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Whether the `If-None-Match` field lines `values` match `etag`: `*` matches any current answer;
/// otherwise a tag matches when its opaque part equals ours, with or without `W/` (the weak
/// comparison). A malformed list matches nothing from its fault on: the client then gets the whole
/// answer, never a 304 it did not ask for.
pub fn none_match<'a>(
    values: impl IntoIterator<Item = &'a HeaderValue>,
    etag: &HeaderValue,
) -> bool {
    let ours = etag.as_bytes();
    let ours = ours.strip_prefix(b"W/").unwrap_or(ours);
    values.into_iter().any(|value| {
        let value = value.as_bytes();
        value.trim_ascii() == b"*" || tags(value).any(|tag| tag == ours)
    })
}

/// The opaque tags (quotes included, `W/` dropped) of one comma-separated field line, up to the
/// first malformed element.
fn tags(mut rest: &[u8]) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        // Empty list elements are allowed (RFC 9110 §5.6.1): skip separators and spaces.
        let start = rest
            .iter()
            .position(|b| !matches!(b, b',' | b' ' | b'\t'))?;
        rest = &rest[start..];
        rest = rest.strip_prefix(b"W/").unwrap_or(rest);
        if rest.first() != Some(&b'"') {
            rest = &[];
            return None;
        }
        let Some(close) = rest[1..].iter().position(|b| *b == b'"') else {
            rest = &[];
            return None;
        };
        let (tag, after) = rest.split_at(close + 2);
        rest = after;
        Some(tag)
    })
}

/// Whole seconds left before `expires`: what `max-age` may promise (rounded down, so that a
/// client never keeps an answer longer than this instance does).
pub fn seconds_left(expires: Instant, now: Instant) -> u64 {
    expires.saturating_duration_since(now).as_secs()
}

/// `Cache-Control` of a kept answer: any cache may keep it for what is left of its life here.
pub fn shared_for(seconds: u64) -> HeaderValue {
    HeaderValue::from_str(&format!("public, max-age={seconds}"))
        .expect("digits are a valid header value")
}

/// `Cache-Control` of an answer that was not kept: a client may store it, but must ask again
/// (with its tag, which costs a 304) before using it.
pub const UNSHARED: HeaderValue = HeaderValue::from_static("no-cache");

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn lines(values: &[&'static str]) -> Vec<HeaderValue> {
        values.iter().map(|v| HeaderValue::from_static(v)).collect()
    }

    #[test]
    fn a_tag_is_the_quoted_hex_of_the_first_16_bytes_of_the_sha256() {
        // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
        assert_eq!(etag(b"abc"), "\"ba7816bf8f01cfea414140de5dae2223\"");
        assert_ne!(etag(b"abc"), etag(b"abd"));
    }

    #[test]
    fn if_none_match_compares_weakly_in_lists_and_with_a_star() {
        let ours = HeaderValue::from_static("\"abc\"");
        let matching: [&[&'static str]; 6] = [
            &["\"abc\""],
            &["W/\"abc\""],
            &["\"x\", \"abc\""],
            &[" \"x\" ,, W/\"abc\" "],
            &["\"x\"", "\"abc\""],
            &[" * "],
        ];
        for values in matching {
            assert!(none_match(&lines(values), &ours), "{values:?}");
        }
        let other: [&[&'static str]; 7] = [
            &[],
            &["\"abcd\""],
            &["abc"],
            &["\"ab\"c\""],
            // Nothing after a malformed element counts.
            &["bogus, \"abc\""],
            &["\"abc"],
            &["\"x\", *"],
        ];
        for values in other {
            assert!(!none_match(&lines(values), &ours), "{values:?}");
        }
    }

    #[test]
    fn a_weak_tag_of_ours_would_still_compare_by_its_opaque_part() {
        let ours = HeaderValue::from_static("W/\"abc\"");
        assert!(none_match(&lines(&["\"abc\""]), &ours));
    }

    #[test]
    fn max_age_is_the_whole_seconds_left_and_never_negative() {
        let now = Instant::now();
        assert_eq!(seconds_left(now + Duration::from_millis(2999), now), 2);
        assert_eq!(seconds_left(now + Duration::from_millis(3000), now), 3);
        assert_eq!(seconds_left(now + Duration::from_millis(999), now), 0);
        assert_eq!(seconds_left(now, now + Duration::from_secs(5)), 0);
        assert_eq!(shared_for(7), "public, max-age=7");
    }
}
