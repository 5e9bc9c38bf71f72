//! Writing an RSS 2.0 podcast feed. Written by hand: the document is small and fixed in shape,
//! and the only subtle part, escaping, is one function.

#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};

/// Enclosure type written when an item does not know its own.
const DEFAULT_MEDIA_TYPE: &str = "audio/mpeg";

/// A feed to write; everything is borrowed, the caller owns the data.
#[derive(Debug, Clone, Copy)]
pub struct Feed<'a> {
    pub title: &'a str,
    pub link: &'a str,
    pub description: &'a str,
    pub items: &'a [Item<'a>],
}

#[derive(Debug, Clone, Copy)]
pub struct Item<'a> {
    pub title: &'a str,
    /// Written as `<guid isPermaLink="false">`; omitted when empty.
    pub guid: &'a str,
    /// The enclosure URL.
    pub media_url: &'a str,
    /// `audio/mpeg` when `None`.
    pub media_type: Option<&'a str>,
    /// `0` when `None`: RSS requires the attribute.
    pub media_length: Option<u64>,
    pub published: Option<DateTime<Utc>>,
    pub duration_seconds: Option<u64>,
}

/// Writes `feed` as an RSS 2.0 document with the iTunes namespace. Characters XML 1.0 cannot
/// carry are dropped, everything else escaped, so the output is always well-formed.
pub fn render(feed: &Feed<'_>) -> String {
    let mut out = String::with_capacity(512 + feed.items.len() * 512);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(
        "<rss version=\"2.0\" xmlns:itunes=\"http://www.itunes.com/dtds/podcast-1.0.dtd\">\n",
    );
    out.push_str("<channel>\n");
    element(&mut out, "title", feed.title);
    element(&mut out, "link", feed.link);
    element(&mut out, "description", feed.description);
    for item in feed.items {
        write_item(&mut out, item);
    }
    out.push_str("</channel>\n</rss>\n");
    out
}

fn write_item(out: &mut String, item: &Item<'_>) {
    out.push_str("<item>\n");
    element(out, "title", item.title);
    if !item.guid.is_empty() {
        out.push_str("<guid isPermaLink=\"false\">");
        escape_into(out, item.guid, Context::Text);
        out.push_str("</guid>\n");
    }
    out.push_str("<enclosure url=\"");
    escape_into(out, item.media_url, Context::Attribute);
    out.push_str("\" type=\"");
    escape_into(
        out,
        item.media_type.unwrap_or(DEFAULT_MEDIA_TYPE),
        Context::Attribute,
    );
    out.push_str("\" length=\"");
    out.push_str(&item.media_length.unwrap_or(0).to_string());
    out.push_str("\"/>\n");
    if let Some(published) = item.published {
        element(out, "pubDate", &published.to_rfc2822());
    }
    if let Some(seconds) = item.duration_seconds {
        element(out, "itunes:duration", &seconds.to_string());
    }
    out.push_str("</item>\n");
}

fn element(out: &mut String, name: &str, text: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    escape_into(out, text, Context::Text);
    out.push_str("</");
    out.push_str(name);
    out.push_str(">\n");
}

/// Where escaped text goes: XML parsers normalise tabs and line breaks in attribute values to
/// spaces, so there they are written as character references to survive a round trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    Text,
    Attribute,
}

fn escape_into(out: &mut String, text: &str, context: Context) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // A raw carriage return would be turned into a line feed by any reader.
            '\r' => out.push_str("&#13;"),
            '\t' if context == Context::Attribute => out.push_str("&#9;"),
            '\n' if context == Context::Attribute => out.push_str("&#10;"),
            '\t' | '\n' => out.push(c),
            c if is_dropped(c) => {}
            c => out.push(c),
        }
    }
}

/// Controls (C0, DEL, C1) and the non-characters U+FFFE/U+FFFF: the C0 controls and
/// non-characters are not allowed in XML 1.0 at all, and DEL and C1 are discouraged and
/// removed by our own parser, so dropping them here keeps render and parse in agreement.
fn is_dropped(c: char) -> bool {
    c.is_control() || matches!(c, '\u{fffe}' | '\u{ffff}')
}
