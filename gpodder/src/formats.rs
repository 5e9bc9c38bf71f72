//! The three formats of the simple API (`.opml`, `.json`, `.txt`): a list of feed URLs written
//! for a client, and read from the whole list a client puts.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Opml,
    Json,
    Txt,
}

impl Format {
    pub fn parse(extension: &str) -> Option<Self> {
        match extension {
            "opml" => Some(Self::Opml),
            "json" => Some(Self::Json),
            "txt" => Some(Self::Txt),
            _ => None,
        }
    }

    /// The answer holding `urls` in this format.
    pub fn respond(self, urls: &[String]) -> Response {
        let (content_type, body) = match self {
            Self::Opml => ("text/x-opml; charset=utf-8", opml(urls)),
            Self::Json => (
                "application/json",
                serde_json::to_string(urls).unwrap_or_else(|_| "[]".to_owned()),
            ),
            Self::Txt => ("text/plain; charset=utf-8", txt(urls)),
        };
        let mut response = body.into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        response
    }

    /// The URLs of a list in this format, as written (each one normalised afterwards); `None`
    /// when the text is not in the format.
    pub fn read(self, body: &str) -> Option<Vec<String>> {
        match self {
            Self::Json => serde_json::from_str::<Vec<String>>(body).ok(),
            Self::Txt => Some(
                body.lines()
                    .map(str::trim)
                    .filter(|line| !line.is_empty())
                    .map(str::to_owned)
                    .collect(),
            ),
            Self::Opml => read_opml(body),
        }
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn opml(urls: &[String]) -> String {
    let outlines: String = urls
        .iter()
        .map(|url| {
            let url = escape(url);
            format!("    <outline type=\"rss\" text=\"{url}\" xmlUrl=\"{url}\"/>\n")
        })
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">\n  <head><title>Balados Sync subscriptions</title></head>\n  <body>\n{outlines}  </body>\n</opml>\n"
    )
}

fn txt(urls: &[String]) -> String {
    urls.iter().map(|url| format!("{url}\n")).collect()
}

/// The `xmlUrl` of every `<outline>` (at any depth: groups are flattened, the simple API has
/// none). A small reader rather than an XML parser: OPML files in the wild are often not
/// well-formed XML, and only this one attribute matters.
fn read_opml(body: &str) -> Option<Vec<String>> {
    if !body.contains("<opml") {
        return None;
    }
    let mut urls = Vec::new();
    for element in body.split("<outline").skip(1) {
        let Some(end) = element.find('>') else {
            break;
        };
        if let Some(url) = attribute(&element[..end], "xmlUrl") {
            urls.push(unescape(&url));
        }
    }
    Some(urls)
}

/// The value of attribute `name` (its case ignored, either quote) within a tag's text.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let mut rest = tag;
    while let Some(at) = rest.find('=') {
        let key = rest[..at].trim_end();
        let key = key
            .rsplit(|c: char| c.is_whitespace())
            .next()
            .unwrap_or(key);
        let after = rest[at + 1..].trim_start();
        let quote = after.chars().next().filter(|c| *c == '"' || *c == '\'')?;
        let value_end = after[1..].find(quote)?;
        if key.eq_ignore_ascii_case(name) {
            return Some(after[1..=value_end].to_owned());
        }
        rest = &after[value_end + 2..];
    }
    None
}

fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let entity = &rest[at..];
        let Some(end) = entity.find(';').filter(|end| *end <= 10) else {
            out.push('&');
            rest = &entity[1..];
            continue;
        };
        let decoded = match &entity[1..end] {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            numeric => numeric
                .strip_prefix("#x")
                .or_else(|| numeric.strip_prefix("#X"))
                .map(|hex| u32::from_str_radix(hex, 16))
                .or_else(|| numeric.strip_prefix('#').map(str::parse::<u32>))
                .and_then(Result::ok)
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &entity[end + 1..];
            }
            None => {
                out.push('&');
                rest = &entity[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls() -> Vec<String> {
        vec![
            "http://example.com/a.xml".to_owned(),
            "https://example.com/b?x=1&y=\"2\"".to_owned(),
        ]
    }

    #[test]
    fn every_format_reads_back_what_it_writes() {
        for format in [Format::Opml, Format::Json, Format::Txt] {
            let response = format.respond(&urls());
            assert!(response.headers().contains_key(header::CONTENT_TYPE));
            let text = match format {
                Format::Opml => opml(&urls()),
                Format::Json => serde_json::to_string(&urls()).expect("json"),
                Format::Txt => txt(&urls()),
            };
            assert_eq!(format.read(&text), Some(urls()), "{format:?}");
        }
    }

    #[test]
    fn opml_from_other_apps_is_read() {
        let body = r#"<?xml version='1.0'?><opml version="1.0"><body>
            <outline text="Group"><outline text='A &amp; B' XMLURL='http://a.example/rss?a=1&amp;b=2' type="rss"/>
            <outline title="no url"/>
            <outline text="x" xmlUrl="http://b.example/&#x72;ss&#115;"></outline></outline></body></opml>"#;
        assert_eq!(
            Format::Opml.read(body),
            Some(vec![
                "http://a.example/rss?a=1&b=2".to_owned(),
                "http://b.example/rsss".to_owned()
            ])
        );
        assert_eq!(Format::Opml.read("not opml"), None);
        assert_eq!(Format::Opml.read("<opml><outline xmlUrl=\"x"), Some(vec![]));
    }

    #[test]
    fn txt_skips_blank_lines_and_json_must_be_a_list_of_strings() {
        assert_eq!(
            Format::Txt.read("\n http://a.example/rss \r\n\nhttp://b.example\n"),
            Some(vec![
                "http://a.example/rss".to_owned(),
                "http://b.example".to_owned()
            ])
        );
        assert_eq!(Format::Json.read("{\"a\":1}"), None);
        assert_eq!(Format::Json.read("[1]"), None);
        assert_eq!(Format::parse("xml"), None);
    }

    #[test]
    fn unescaping_leaves_unknown_entities_alone() {
        assert_eq!(
            unescape("a &bogus; &#xZZ; & b &amp;"),
            "a &bogus; &#xZZ; & b &"
        );
    }
}
