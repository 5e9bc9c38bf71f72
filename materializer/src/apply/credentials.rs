//! URLs that carry credentials are never published. A private feed (a paid show, a Patreon or
//! Substack feed) is one URL per subscriber, holding a token in its user-info, its query or its
//! path; publishing it on the unauthenticated timeline would hand that subscription to anyone.
//! Such feeds and episodes are treated as private — left out of the public events and popularity
//! — rather than stripped: without its token the URL names another feed (or none), and the feed's
//! path alone still tells a subscriber apart.

/// Query parameter names (lower case, without `-` and `_`) that hold a secret when they contain
/// one of these.
const SECRET_NAMES: [&str; 9] = [
    "token",
    "auth",
    "key",
    "secret",
    "pass",
    "pwd",
    "session",
    "sig",
    "credential",
];

/// A path segment of this many hex digits (a UUID, a digest) or token characters is taken for a key.
const TOKEN_SEGMENT_LEN: usize = 32;

/// Whether `url` carries what looks like a credential.
pub fn carries_credentials(url: &str) -> bool {
    let Ok(url) = url::Url::parse(url) else {
        // Not a URL we can read: do not publish what we cannot judge.
        return true;
    };
    if !url.username().is_empty() || url.password().is_some() {
        return true;
    }
    let secret_name = |name: &str| {
        let name: String = name
            .chars()
            .filter(|c| !matches!(c, '-' | '_'))
            .flat_map(char::to_lowercase)
            .collect();
        SECRET_NAMES.iter().any(|s| name.contains(s))
    };
    if url.query_pairs().any(|(name, _)| secret_name(&name)) {
        return true;
    }
    url.path_segments()
        .into_iter()
        .flatten()
        .any(|segment| segment.eq_ignore_ascii_case("private") || looks_like_token(segment))
}

/// A UUID or digest (hex digits, dashes allowed), or one unbroken run of letters and digits
/// mixing both (base64-like): not a slug of dash-separated words.
fn looks_like_token(segment: &str) -> bool {
    let stem = segment.split('.').next().unwrap_or(segment);
    let hex = stem.chars().filter(char::is_ascii_hexdigit).count();
    let all_hex = stem.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    let unbroken = stem.len() >= TOKEN_SEGMENT_LEN
        && stem.chars().all(|c| c.is_ascii_alphanumeric())
        && stem.chars().any(|c| c.is_ascii_digit())
        && stem.chars().any(|c| c.is_ascii_alphabetic());
    (all_hex && hex >= TOKEN_SEGMENT_LEN) || unbroken
}

#[cfg(test)]
mod tests {
    use super::carries_credentials;

    #[test]
    fn urls_with_credentials_are_recognised() {
        for url in [
            "https://user:pass@feeds.example.com/show.xml",
            "https://token@feeds.example.com/show.xml",
            "https://www.patreon.com/rss/show?auth=Ab12Cd34",
            "https://feeds.example.com/show.xml?access_token=x",
            "https://feeds.example.com/show.xml?API-KEY=x",
            "https://feeds.example.com/show.xml?sig=abc&expires=1",
            "https://api.substack.com/feed/podcast/123/private/5f0c6a1e-3b2d-4c8e-9f7a-1b2c3d4e5f60.rss",
            "https://feeds.supercast.com/episodes/9b1f0a2c4d6e8f00112233445566778899aabbcc.rss",
            "https://feeds.example.com/Private/show.xml",
            "https://feeds.example.com/u/Zx81Qp0LmN3vB7tR5wY2kH9jD4fG6sA1/rss",
            "not a url",
        ] {
            assert!(carries_credentials(url), "{url}");
        }
    }

    #[test]
    fn ordinary_feeds_are_published() {
        for url in [
            "https://feeds.example.com/show.xml",
            "https://feeds.megaphone.fm/GLT1412515089",
            "https://anchor.fm/s/1234abcd/podcast/rss",
            "https://feeds.example.com/show.xml?format=mp3&page=2",
            "https://media.example.com/episodes/2026-11-30-the-long-episode-title-of-the-week.mp3",
            "https://podcasts.example.com/the-daily-show-with-a-very-long-slug-name/feed.xml",
            "https://cdn.example.com/shows/episode_2026_11_30_the_long_title.mp3",
        ] {
            assert!(!carries_credentials(url), "{url}");
        }
    }
}
