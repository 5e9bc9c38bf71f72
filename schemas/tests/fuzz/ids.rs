//! The ids clients send in URLs and bodies: feed ids (base64 of a URL), episode ids (base64 of
//! `guid,enclosure_url`) and user ids (a JWT subject). Any text is refused or accepted without a
//! panic; what is accepted has a canonical id that names it again.

use balados_schemas::{FeedUrl, ItemId, UserId};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use proptest::prelude::*;

/// Feed and enclosure URLs as podcasts have them: http(s), a host, a path, maybe a query with
/// commas (which episode ids must not confuse with their separator).
fn url() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["http", "https"]),
        "[a-z][a-z0-9]{0,11}(\\.[a-z]{2,6}){1,2}",
        "(/[A-Za-z0-9._~%+-]{0,16}){0,4}",
        "(\\?[a-z]{1,5}=[A-Za-z0-9,._-]{0,12}(&[a-z]{1,5}=[A-Za-z0-9,._-]{0,12}){0,2})?",
    )
        .prop_map(|(scheme, host, path, query)| format!("{scheme}://{host}{path}{query}"))
}

/// Any of: arbitrary text, base64url of arbitrary bytes, base64 of arbitrary text with a comma
/// and an http URL in it (to reach the deeper checks).
fn id_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        prop::collection::vec(any::<u8>(), 0..64).prop_map(|b| URL_SAFE_NO_PAD.encode(b)),
        (any::<String>(), url(), any::<String>())
            .prop_map(|(a, u, b)| STANDARD.encode(format!("{a},{u}{b}"))),
    ]
}

proptest! {
    #[test]
    fn any_feed_id_is_refused_or_names_its_feed_again(raw in id_text()) {
        if let Ok(feed) = FeedUrl::from_id(&raw) {
            prop_assert_eq!(FeedUrl::from_id(&feed.id()), Ok(feed.clone()));
            prop_assert_eq!(FeedUrl::parse(feed.as_str()), Ok(feed));
        }
    }

    #[test]
    fn any_item_id_is_refused_or_names_its_episode_again(raw in id_text()) {
        if let Ok(item) = ItemId::from_id(&raw) {
            prop_assert_eq!(ItemId::from_id(&item.id()), Ok(item.clone()));
            prop_assert_eq!(ItemId::new(item.guid(), item.enclosure_url()), Ok(item));
        }
    }

    #[test]
    fn any_user_id_is_refused_or_kept_as_sent(raw in any::<String>()) {
        if let Ok(user) = UserId::parse(&raw) {
            prop_assert_eq!(user.as_str(), raw.as_str());
            prop_assert!(!raw.is_empty() && !raw.contains('/'));
            prop_assert!(!raw.chars().any(char::is_control));
        }
    }

    #[test]
    fn a_valid_feed_round_trips_through_its_id(url in url()) {
        let feed = FeedUrl::parse(&url).expect("a generated URL is valid");
        prop_assert_eq!(feed.as_str(), url.as_str());
        prop_assert_eq!(FeedUrl::from_id(&feed.id()), Ok(feed.clone()));
        prop_assert_eq!(FeedUrl::from_id(&STANDARD.encode(&url)), Ok(feed));
    }

    #[test]
    fn a_valid_episode_round_trips_through_its_id(
        guid in "[ -~]{1,40}",
        // See the ignored test below.
        url in url().prop_filter("no ,http in the URL", |u| !u.contains(",http")),
    ) {
        let Ok(item) = ItemId::new(&guid, &url) else {
            // A GUID of blanks only.
            prop_assert!(guid.trim().is_empty());
            return Ok(());
        };
        prop_assert_eq!(ItemId::from_id(&item.id()), Ok(item));
    }
}

/// Known limitation, kept visible: an enclosure URL that itself contains `,http` is split there
/// (the original service's `guid,url` encoding is ambiguous), so its id names another episode.
/// Fixing it belongs to `ItemId::from_id` (schemas/src/ids.rs).
#[test]
#[ignore = "ItemId::from_id splits at the last ',http', inside the URL when the URL contains one"]
fn an_enclosure_url_containing_comma_http_round_trips() {
    let item = ItemId::new(
        "g",
        "https://t.example.com/r?u=1,https://cdn.example.com/1.mp3",
    )
    .expect("valid");
    assert_eq!(ItemId::from_id(&item.id()), Ok(item));
}
