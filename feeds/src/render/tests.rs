#![allow(clippy::unwrap_used)]

use chrono::TimeZone;
use proptest::prelude::*;

use super::*;
use crate::parse::{Channel, Episode, parse};

fn item<'a>(title: &'a str, guid: &'a str, media_url: &'a str) -> Item<'a> {
    Item {
        title,
        guid,
        media_url,
        media_type: None,
        media_length: None,
        published: None,
        duration_seconds: None,
    }
}

fn feed<'a>(title: &'a str, items: &'a [Item<'a>]) -> Feed<'a> {
    Feed {
        title,
        link: "https://balados.example/",
        description: "d",
        items,
    }
}

#[test]
fn round_trips_through_the_parser() {
    let published = Utc.with_ymd_and_hms(2024, 2, 29, 23, 59, 1).unwrap();
    let items = [
        Item {
            media_type: Some("audio/ogg; codecs=\"opus\""),
            media_length: Some(98_765_432_100),
            published: Some(published),
            duration_seconds: Some(3_723),
            ..item(
                "Épisode <1> & \"quotes\" 'too' — 日本語",
                "urn:x?a=1&b=<2>",
                "https://cdn.example.org/é/ep.mp3?a=1&b=\"2\"&c='<3>'",
            )
        },
        item("Second", "g2", "http://example.org/2.mp3"),
    ];
    let channel = parse(render(&feed("Ça & <va>", &items)).as_bytes()).unwrap();
    let expected = Channel {
        title: "Ça & <va>".to_owned(),
        episodes: vec![
            Episode {
                title: "Épisode <1> & \"quotes\" 'too' — 日本語".to_owned(),
                guid: Some("urn:x?a=1&b=<2>".to_owned()),
                media_url: "https://cdn.example.org/é/ep.mp3?a=1&b=\"2\"&c='<3>'".to_owned(),
                media_type: Some("audio/ogg; codecs=\"opus\"".to_owned()),
                media_length: Some(98_765_432_100),
                published: Some(published),
                duration_seconds: Some(3_723),
            },
            Episode {
                title: "Second".to_owned(),
                guid: Some("g2".to_owned()),
                media_url: "http://example.org/2.mp3".to_owned(),
                media_type: Some("audio/mpeg".to_owned()),
                media_length: Some(0),
                published: None,
                duration_seconds: None,
            },
        ],
    };
    assert_eq!(channel, expected);
}

#[test]
fn escapes_text_and_attributes() {
    let items = [item("x", "", "https://e.org/?a=1&b=\"2\"")];
    let xml = render(&feed("a < b & \"c\" 'd' >", &items));
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\""));
    assert!(xml.contains("<title>a &lt; b &amp; &quot;c&quot; &apos;d&apos; &gt;</title>"));
    assert!(xml.contains("<enclosure url=\"https://e.org/?a=1&amp;b=&quot;2&quot;\" type=\"audio/mpeg\" length=\"0\"/>"));
    assert!(!xml.contains("<guid"), "an empty guid is omitted");
}

#[test]
fn drops_characters_xml_cannot_carry() {
    let items = [item(
        "a\u{0}b\u{1b}c\u{fffe}d\u{85}e\tf",
        "g\u{7}",
        "https://e.org/",
    )];
    let xml = render(&feed("t\u{8}", &items));
    assert!(xml.contains("<title>abcde\tf</title>"));
    assert!(xml.contains("<title>t</title>"));
    assert!(xml.contains("<guid isPermaLink=\"false\">g</guid>"));
}

#[test]
fn writes_dates_and_durations() {
    let published = Utc.with_ymd_and_hms(2003, 6, 10, 4, 0, 0).unwrap();
    let items = [Item {
        published: Some(published),
        duration_seconds: Some(61),
        media_length: Some(7),
        ..item("x", "g", "https://e.org/")
    }];
    let xml = render(&feed("t", &items));
    assert!(xml.contains("<pubDate>Tue, 10 Jun 2003 04:00:00 +0000</pubDate>"));
    assert!(xml.contains("<itunes:duration>61</itunes:duration>"));
    assert!(xml.contains("length=\"7\""));
}

proptest! {
    #[test]
    fn any_text_round_trips_cleaned(title in any::<String>(), guid in "[^\\s]{1,40}", path in "\\PC{0,30}") {
        let url = format!("https://e.org/{}", path.replace(|c: char| c.is_whitespace(), "_"));
        let items = [item(&title, &guid, &url)];
        let channel = parse(render(&feed(&title, &items)).as_bytes()).unwrap();
        let expected_title = crate::parse::clean_title(&title);
        prop_assert_eq!(&channel.title, &expected_title);
        prop_assert_eq!(&channel.episodes[0].title, &expected_title);
        let expected_guid = crate::parse::clean_guid(&guid);
        prop_assert_eq!(&channel.episodes[0].guid, &expected_guid);
        prop_assert_eq!(&channel.episodes[0].media_url, &url);
    }
}
