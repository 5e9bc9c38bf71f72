//! The `Prefer: wait=N` request preference (RFC 7240 §4.3): how long the client is willing to
//! wait for the command's outcome instead of a bare 202.

use axum::http::HeaderMap;
use std::time::Duration;

/// The longest wait honoured; longer requests are clamped.
pub const MAX_WAIT: Duration = Duration::from_secs(10);

/// The requested wait, clamped to [`MAX_WAIT`]; `None` when the client did not ask (or asked for 0).
pub fn requested_wait(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get_all(axum::http::header::HeaderName::from_static("prefer"))
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|pref| {
            let (name, value) = pref.split(';').next()?.split_once('=')?;
            (name.trim().eq_ignore_ascii_case("wait"))
                .then(|| value.trim().trim_matches('"').parse::<u64>().ok())?
        })
        .next()
        .filter(|s| *s > 0)
        .map(|s| Duration::from_secs(s).min(MAX_WAIT))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("prefer", HeaderValue::from_str(v).expect("valid"));
        }
        h
    }

    #[test]
    fn wait_is_read_among_other_preferences_and_clamped() {
        assert_eq!(
            requested_wait(&headers(&["wait=3"])),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            requested_wait(&headers(&["respond-async, Wait = 5"])),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            requested_wait(&headers(&["return=minimal", "wait=60"])),
            Some(MAX_WAIT)
        );
    }

    #[test]
    fn absent_zero_or_malformed_waits_are_ignored() {
        assert_eq!(requested_wait(&headers(&[])), None);
        assert_eq!(requested_wait(&headers(&["wait=0"])), None);
        assert_eq!(requested_wait(&headers(&["wait=soon"])), None);
        assert_eq!(requested_wait(&headers(&["respond-async"])), None);
    }
}
