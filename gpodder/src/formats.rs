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
            Self::Json => serde_json::from_str::<crate::body::Bounded<String>>(body)
                .ok()
                .map(|list| list.0),
            // One more than the most, so that the caller refuses the list rather than cut it.
            Self::Txt => Some(
                body.lines()
                    .map(str::trim)
                    .filter(|line| !line.is_empty())
                    .take(crate::body::MAX_ITEMS + 1)
                    .map(str::to_owned)
                    .collect(),
            ),
            Self::Opml => read_opml(body),
        }
    }
}

/// The simple API's OPML: the platform's writer, without groups (the simple API has none).
fn opml(urls: &[String]) -> String {
    let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
    balados_platform::opml::write(&urls, &[])
}

fn txt(urls: &[String]) -> String {
    urls.iter().map(|url| format!("{url}\n")).collect()
}

/// The `xmlUrl` of every `<outline>` (at any depth: groups are flattened, the simple API has
/// none), read by the platform's tolerant OPML reader.
fn read_opml(body: &str) -> Option<Vec<String>> {
    balados_platform::opml::read(body).map(|outlines| outlines.into_iter().map(|o| o.url).collect())
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
}
