#![allow(clippy::unwrap_used)]

use chrono::TimeZone;
use proptest::prelude::*;

use super::*;

const PODCAST: &str = r#"<?xml version="1.0" encoding="ISO-8859-1"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"
     xmlns:media="http://search.yahoo.com/mrss/">
  <channel>
    <image><url>https://example.org/cover.jpg</url><title>Cover art</title></image>
    <itunes:title>iTunes channel name</itunes:title>
    <title><![CDATA[Caf]]>&#233;   <![CDATA[&amp; Friends]]> &amp;
      Co</title>
    <item>
      <itunes:title>Not this one</itunes:title>
      <media:title>Nor this one</media:title>
      <title>Episode 1: &lt;Hello&gt; &#x1F600;</title>
      <guid isPermaLink="false">  ep-1  </guid>
      <enclosure url=" https://cdn.example.org/ep1.mp3?a=1&amp;b=2 " type="audio/mpeg" length="12345"/>
      <pubDate>Tue, 10 Jun 2003 04:00:00 GMT</pubDate>
      <itunes:duration>1234</itunes:duration>
    </item>
    <item>
      <title>No enclosure at all</title>
      <guid>ep-none</guid>
    </item>
    <item>
      <title>Script</title>
      <enclosure url="javascript:alert(1)" type="audio/mpeg"/>
    </item>
    <item>
      <title>FTP</title>
      <enclosure url="ftp://example.org/ep.mp3" type="audio/mpeg"/>
    </item>
    <item>
      <title>Episode 2</title>
      <enclosure url="HTTP://example.org/ep2.m4a" type="audio/x-m4a" length="n/a"></enclosure>
      <pubDate>Wed, 02 Oct 2002 13:00:00 -0500</pubDate>
      <itunes:duration>12:05</itunes:duration>
    </item>
    <item>
      <title>Episode 3</title>
      <guid></guid>
      <enclosure url="https://example.org/ep3.ogg"/>
      <pubDate>someday</pubDate>
      <itunes:duration>01:02:03.75</itunes:duration>
    </item>
  </channel>
</rss>"#;

fn episode_titles(channel: &Channel) -> Vec<&str> {
    channel.episodes.iter().map(|e| e.title.as_str()).collect()
}

#[test]
fn reads_a_realistic_podcast_feed() {
    let channel = parse(PODCAST.as_bytes()).unwrap();
    // Inside CDATA `&amp;` is literal text, as XML says; outside, it is an entity.
    assert_eq!(channel.title, "Café &amp; Friends & Co");
    assert_eq!(
        episode_titles(&channel),
        ["Episode 1: <Hello> 😀", "Episode 2", "Episode 3"]
    );

    let first = &channel.episodes[0];
    assert_eq!(first.guid.as_deref(), Some("ep-1"));
    assert_eq!(first.media_url, "https://cdn.example.org/ep1.mp3?a=1&b=2");
    assert_eq!(first.media_type.as_deref(), Some("audio/mpeg"));
    assert_eq!(first.media_length, Some(12345));
    let expected = Utc.with_ymd_and_hms(2003, 6, 10, 4, 0, 0).unwrap();
    assert_eq!(first.published, Some(expected));
    assert_eq!(first.duration_seconds, Some(1234));

    let second = &channel.episodes[1];
    assert_eq!(second.guid, None);
    assert_eq!(second.media_url, "HTTP://example.org/ep2.m4a");
    assert_eq!(second.media_length, None);
    let expected = Utc.with_ymd_and_hms(2002, 10, 2, 18, 0, 0).unwrap();
    assert_eq!(second.published, Some(expected));
    assert_eq!(second.duration_seconds, Some(12 * 60 + 5));

    let third = &channel.episodes[2];
    assert_eq!(third.guid, None, "an empty guid is no guid");
    assert_eq!(third.media_type, None);
    assert_eq!(third.published, None);
    assert_eq!(third.duration_seconds, Some(3600 + 2 * 60 + 3));
}

#[test]
fn dates_with_non_rfc_zones_are_read_as_utc() {
    let expected = Utc.with_ymd_and_hms(2024, 3, 1, 8, 30, 0).unwrap();
    for raw in [
        "Fri, 01 Mar 2024 08:30:00 UTC",
        "Fri, 01 Mar 2024 08:30:00 Z",
        "Fri, 01 Mar 2024 08:30:00",
        " 1 Mar 2024 09:30:00 +0100 ",
    ] {
        assert_eq!(text::date(raw), Some(expected), "{raw}");
    }
    assert_eq!(text::date("2024-03-01T08:30:00Z"), None);
}

#[test]
fn durations_accept_three_forms_and_nothing_else() {
    assert_eq!(text::duration("59"), Some(59));
    assert_eq!(text::duration("1234.5"), Some(1234));
    assert_eq!(text::duration("3:07"), Some(187));
    assert_eq!(text::duration("1:00:00"), Some(3600));
    for raw in [
        "", "1:2:3:4", "-5", "+5", "1h", "1.5:00", "a:b", "12:", "1.x",
    ] {
        assert_eq!(text::duration(raw), None, "{raw:?}");
    }
}

fn feed_with_items(items: &str) -> String {
    format!("<rss><channel><title>T</title>{items}</channel></rss>")
}

fn item(title: &str, guid: &str) -> String {
    format!(
        "<item><title>{title}</title><guid>{guid}</guid>\
         <enclosure url=\"https://example.org/a.mp3\"/></item>"
    )
}

#[test]
fn keeps_the_newest_episodes_of_a_feed_listed_oldest_first() {
    let items: String = (0..700)
        .map(|i| {
            let day = chrono::DateTime::from_timestamp(1_600_000_000 + i * 86_400, 0).unwrap();
            format!(
                "<item><title>ep {i}</title><pubDate>{}</pubDate>\
                 <enclosure url=\"https://example.org/{i}.mp3\"/></item>",
                day.to_rfc2822()
            )
        })
        .collect();
    let channel = parse(feed_with_items(&items).as_bytes()).unwrap();
    assert_eq!(channel.episodes.len(), MAX_EPISODES);
    assert_eq!(channel.episodes[0].title, "ep 200", "in document order");
    assert_eq!(
        channel.episodes[MAX_EPISODES - 1].title,
        "ep 699",
        "the newest kept"
    );
}

#[test]
fn keeps_only_the_first_episodes_when_undated() {
    let items: String = (0..601).map(|i| item(&format!("ep {i}"), "g")).collect();
    let channel = parse(feed_with_items(&items).as_bytes()).unwrap();
    assert_eq!(channel.episodes.len(), MAX_EPISODES);
    assert_eq!(channel.episodes[0].title, "ep 0");
    assert_eq!(channel.episodes[MAX_EPISODES - 1].title, "ep 499");
}

#[test]
fn bounds_titles_and_guids() {
    let long_title = "é".repeat(1_000);
    let items = item(&long_title, &"g".repeat(600)) + &item("ok", &"g".repeat(MAX_GUID_BYTES));
    let document = format!("<rss><channel><title>{long_title}</title>{items}</channel></rss>");
    let channel = parse(document.as_bytes()).unwrap();
    assert_eq!(channel.title, "é".repeat(MAX_TITLE_CHARS));
    assert_eq!(channel.episodes[0].title.chars().count(), MAX_TITLE_CHARS);
    assert_eq!(channel.episodes[0].guid, None);
    assert_eq!(channel.episodes[1].guid, Some("g".repeat(MAX_GUID_BYTES)));
}

#[test]
fn rejects_unsafe_or_oversized_media_urls() {
    let long = format!("https://example.org/{}", "a".repeat(MAX_URL_BYTES));
    for url in [
        &long,
        "https://exa mple.org/a",
        "https://example.org/&#9;a",
        "//example.org/a",
        "http:/x",
    ] {
        let document = feed_with_items(&format!("<item><enclosure url=\"{url}\"/></item>"));
        assert_eq!(parse(document.as_bytes()).unwrap().episodes, [], "{url}");
    }
}

#[test]
fn cleans_control_characters_and_collapses_title_whitespace() {
    let document = feed_with_items(
        "<item><title> a&#1;b \t\n c\u{7f} </title><guid>x&#27;y</guid>\
         <enclosure url=\"https://e.org/a\"/></item>",
    );
    let episode = &parse(document.as_bytes()).unwrap().episodes[0];
    assert_eq!(episode.title, "ab c");
    assert_eq!(episode.guid.as_deref(), Some("xy"));
}

#[test]
fn tolerates_bare_ampersands_unknown_entities_and_invalid_utf8() {
    let mut document = feed_with_items(&item("Tom & Jerry &nbsp;&copy;!", "g")).into_bytes();
    document.splice(21..21, [0xff, 0xfe]);
    let channel = parse(&document).unwrap();
    assert_eq!(channel.title, "\u{fffd}\u{fffd}T");
    assert_eq!(channel.episodes[0].title, "Tom & Jerry !");
    assert_eq!(text::unescape("a&b&amp;c&bogus;d&#x41;"), "a&b&cdA");
}

#[test]
fn non_rss_and_garbage_are_errors() {
    let html = "<html><body><rss><channel><title>x</title></channel></rss></body></html>";
    assert_eq!(parse(html.as_bytes()), Err(ParseError::NotRss));
    assert_eq!(parse(b""), Err(ParseError::NotRss));
    assert_eq!(
        parse(b"<rss version=\"2.0\"></rss>"),
        Err(ParseError::NotRss)
    );
    assert!(matches!(
        parse(b"<rss><channel></item>"),
        Err(ParseError::NotXml(_))
    ));
    assert!(matches!(
        parse(b"<rss><channel><title"),
        Err(ParseError::NotXml(_))
    ));
}

#[test]
fn a_document_cut_between_tags_keeps_the_closed_items() {
    let document = feed_with_items(&(item("one", "1") + &item("two", "2")));
    let cut = &document[..document.find("<item><title>two").unwrap() + 13];
    let channel = parse(cut.as_bytes()).unwrap();
    assert_eq!(episode_titles(&channel), ["one"]);
}

#[test]
fn deep_nesting_does_not_overflow_the_stack() {
    let depth = 200_000;
    let document = format!(
        "<rss><channel>{}{}</channel></rss>",
        "<x>".repeat(depth),
        "</x>".repeat(depth)
    );
    assert_eq!(parse(document.as_bytes()).unwrap().episodes, []);
}

proptest! {
    #[test]
    fn never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse(&bytes);
    }

    #[test]
    fn never_panics_on_xml_like_text(text in "(<|>|/|&|;|#|x|[0-9]|\"|=| |rss|channel|item|title|enclosure url=|https://|!\\[CDATA\\[|\\]\\]>|.){0,80}") {
        let _ = parse(text.as_bytes());
        let _ = parse(feed_with_items(&text).as_bytes());
    }

    #[test]
    fn text_helpers_are_total(text in any::<String>()) {
        let _ = (text::date(&text), text::duration(&text), text::unescape(&text));
        prop_assert!(text::title(&text).chars().count() <= MAX_TITLE_CHARS);
    }
}

#[test]
fn a_media_type_longer_than_one_can_be_is_dropped() {
    let long = "audio/".to_owned() + &"x".repeat(300);
    let items = format!(
        "<item><enclosure url=\"https://example.org/a.mp3\" type=\"{long}\"/></item>\
         <item><enclosure url=\"https://example.org/b.mp3\" type=\"audio/mpeg\"/></item>"
    );
    let channel = parse(feed_with_items(&items).as_bytes()).unwrap();
    assert_eq!(channel.episodes[0].media_type, None);
    assert_eq!(
        channel.episodes[1].media_type.as_deref(),
        Some("audio/mpeg")
    );
}
