//! Feed URLs as gpodder clients and OPML files write them, made into the one form the service
//! keeps, so that the same feed written two ways is one subscription. The gpodder API sends the
//! rewrites back to the client in `update_urls` (`[[old, new], …]`) so that it renames its own
//! copy; a URL that cannot be a feed is reported as `[url, ""]` and skipped, never failing the
//! rest of the batch.

use balados_schemas::FeedUrl;

/// Query parameters that only track where a click came from: dropped, so that one feed shared
/// through two campaigns stays one feed.
fn is_tracking(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.starts_with("utm_") || key == "fbclid" || key == "gclid"
}

/// What became of a URL a client sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Normalised {
    /// The feed, and whether its text differs from what the client sent.
    Feed { url: FeedUrl, rewritten: bool },
    /// Not a feed URL (not http(s), unparsable, or beyond the bounds of docs/limits.md).
    Invalid,
}

/// `feed://`, `itpc://`, `pcast://` (and `feed:https://…`) as the http(s) URL they stand for.
fn podcast_scheme(raw: &str) -> Option<String> {
    let (scheme, rest) = raw.split_once(':')?;
    if !["feed", "itpc", "pcast"]
        .iter()
        .any(|s| s.eq_ignore_ascii_case(scheme))
    {
        return None;
    }
    let lower = rest.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        Some(rest.to_owned())
    } else {
        rest.starts_with("//").then(|| format!("http:{rest}"))
    }
}

/// The normalised text of a URL: scheme and host lower-case, default port, fragment and tracking
/// parameters dropped (the URL parser does the first two, and percent-encodes what must be).
/// `None` when it is not an http(s) URL with a host.
pub fn normalise_text(raw: &str) -> Option<String> {
    let trimmed = raw.trim();
    let text = podcast_scheme(trimmed).unwrap_or_else(|| trimmed.to_owned());
    let mut url = url::Url::parse(&text).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return None;
    }
    url.set_fragment(None);
    if let Some(query) = url.query() {
        // The other parameters are kept exactly as written (re-encoding them could make another
        // URL the server does not know).
        let kept: Vec<&str> = query
            .split('&')
            .filter(|pair| {
                let key = pair.split('=').next().unwrap_or_default();
                !pair.is_empty() && !is_tracking(key)
            })
            .collect();
        let kept = kept.join("&");
        url.set_query((!kept.is_empty()).then_some(kept.as_str()));
    }
    Some(url.to_string())
}

/// A client's feed URL as the service keeps it (see [`Normalised`]).
pub fn normalise(raw: &str) -> Normalised {
    match normalise_text(raw).map(|text| FeedUrl::parse(&text).map(|url| (text, url))) {
        Some(Ok((text, url))) => Normalised::Feed {
            rewritten: text != raw,
            url,
        },
        _ => Normalised::Invalid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn feed(raw: &str) -> (String, bool) {
        match normalise(raw) {
            Normalised::Feed { url, rewritten } => (url.as_str().to_owned(), rewritten),
            Normalised::Invalid => panic!("{raw} refused"),
        }
    }

    #[test]
    fn podcast_schemes_become_http() {
        for (raw, want) in [
            ("feed://example.com/rss", "http://example.com/rss"),
            ("itpc://example.com/rss", "http://example.com/rss"),
            ("PCAST://example.com/rss", "http://example.com/rss"),
            ("feed:https://example.com/rss", "https://example.com/rss"),
            ("feed:http://example.com/rss", "http://example.com/rss"),
        ] {
            assert_eq!(feed(raw), (want.to_owned(), true), "{raw}");
        }
    }

    #[test]
    fn case_ports_fragments_tracking_and_whitespace_are_normalised() {
        for (raw, want) in [
            ("HTTP://Example.COM/Feed.xml", "http://example.com/Feed.xml"),
            ("http://example.com:80/rss", "http://example.com/rss"),
            ("https://example.com:443/rss", "https://example.com/rss"),
            ("http://example.com/rss#top", "http://example.com/rss"),
            ("  http://example.com/rss\n", "http://example.com/rss"),
            (
                "http://example.com/rss?utm_source=x&id=4&UTM_medium=y&fbclid=1&gclid=2",
                "http://example.com/rss?id=4",
            ),
            (
                "http://example.com/rss?utm_source=x",
                "http://example.com/rss",
            ),
            ("http://example.com", "http://example.com/"),
        ] {
            assert_eq!(feed(raw), (want.to_owned(), true), "{raw}");
        }
    }

    #[test]
    fn a_url_already_normal_is_not_rewritten() {
        for raw in [
            "http://example.com/rss",
            "https://feeds.example.org/a/b.xml?id=4&format=rss",
            "https://example.com/search?q=a+b",
            "https://example.com:8443/rss",
        ] {
            assert_eq!(feed(raw), (raw.to_owned(), false), "{raw}");
        }
    }

    #[test]
    fn what_cannot_be_a_feed_is_invalid() {
        let long = format!(
            "http://example.com/{}",
            "a".repeat(balados_schemas::ids::MAX_FEED_URL_LEN)
        );
        for raw in [
            "",
            "   ",
            "example.com/rss",
            "ftp://example.com/rss",
            "mailto:someone@example.com",
            "feed:ftp://example.com",
            "feed:example",
            "http://",
            "file:///etc/passwd",
            long.as_str(),
        ] {
            assert_eq!(normalise(raw), Normalised::Invalid, "{raw}");
        }
    }

    fn url_like() -> impl Strategy<Value = String> {
        (
            prop::sample::select(vec![
                "http://",
                "HTTPS://",
                "feed://",
                "itpc://",
                "pcast://",
                "feed:https://",
                "",
            ]),
            "[a-zA-Z0-9.-]{0,12}",
            prop::option::of(0u16..10_000),
            "(/[a-zA-Z0-9%.~ _-]{0,8}){0,3}",
            prop::collection::vec(
                (
                    prop::sample::select(vec!["utm_source", "id", "fbclid", "q", "", "Gclid"]),
                    "[a-zA-Z0-9%+ ]{0,5}",
                ),
                0..4,
            ),
            prop::option::of("[a-z#]{0,4}"),
            prop::sample::select(vec!["", " ", "\t", "\n"]),
        )
            .prop_map(|(scheme, host, port, path, query, fragment, space)| {
                let mut url = format!("{space}{scheme}{host}");
                if let Some(port) = port {
                    url.push_str(&format!(":{port}"));
                }
                url.push_str(&path);
                let pairs: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
                if !pairs.is_empty() {
                    url.push('?');
                    url.push_str(&pairs.join("&"));
                }
                if let Some(fragment) = fragment {
                    url.push('#');
                    url.push_str(&fragment);
                }
                url.push_str(space);
                url
            })
    }

    proptest! {
        #[test]
        fn normalising_twice_is_normalising_once(raw in prop_oneof![url_like(), ".{0,60}"]) {
            if let Normalised::Feed { url, .. } = normalise(&raw) {
                prop_assert_eq!(
                    normalise(url.as_str()),
                    Normalised::Feed { url: url.clone(), rewritten: false }
                );
                prop_assert!(url.as_str().starts_with("http://") || url.as_str().starts_with("https://"));
                prop_assert!(!url.as_str().contains('#'));
                let query = url.as_str().split_once('?').map(|(_, q)| q).unwrap_or_default();
                prop_assert!(query.split('&').all(|pair| !is_tracking(pair.split('=').next().unwrap_or_default())));
            }
        }

        #[test]
        fn rewritten_says_whether_the_text_changed(raw in url_like()) {
            if let Normalised::Feed { url, rewritten } = normalise(&raw) {
                prop_assert_eq!(rewritten, url.as_str() != raw);
            }
        }
    }
}
