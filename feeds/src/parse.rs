//! Reading an RSS 2.0 document into its channel title and playable episodes.
//!
//! The reader is a flat event loop over quick-xml with an explicit stack of open elements, so
//! nesting depth costs heap, never call stack. Any quick-xml error makes the whole document
//! [`ParseError::NotXml`]. A document cut between two tags is not an XML error to quick-xml (it
//! does not report unclosed elements at the end): such a document yields the channel and the
//! episodes whose `<item>` was closed before the cut.

#[cfg(test)]
mod tests;
mod text;

/// The parser's own normalisation, for the round-trip tests of the renderer.
#[cfg(test)]
pub(crate) use text::{guid as clean_guid, title as clean_title};

use chrono::{DateTime, Utc};
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

/// Episodes kept per channel: the newest by date (undated ones count as oldest, in document
/// order) — a long-running podcast may list hundreds, oldest first.
pub const MAX_EPISODES: usize = 500;
/// Channel and episode titles are truncated to this many characters.
pub const MAX_TITLE_CHARS: usize = 300;
/// A longer guid is dropped (`None`), not truncated: a truncated identity could collide.
pub const MAX_GUID_BYTES: usize = 500;
/// An enclosure whose URL is longer makes its item skipped.
pub const MAX_URL_BYTES: usize = 2048;

/// A podcast channel as read from its feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    pub title: String,
    pub episodes: Vec<Episode>,
}

/// An item of the feed that has a playable (http or https) enclosure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Episode {
    /// `""` when absent.
    pub title: String,
    /// Trimmed; `None` when absent, empty or longer than [`MAX_GUID_BYTES`].
    pub guid: Option<String>,
    /// The enclosure URL, trimmed.
    pub media_url: String,
    pub media_type: Option<String>,
    pub media_length: Option<u64>,
    pub published: Option<DateTime<Utc>>,
    pub duration_seconds: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("not a well-formed XML document: {0}")]
    NotXml(String),
    #[error("not an RSS 2.0 document: no <rss><channel>")]
    NotRss,
}

/// Reads an RSS 2.0 document, treated as UTF-8 whatever its XML declaration says (invalid bytes
/// are replaced). Items without an acceptable enclosure are skipped; see [`Episode`].
pub fn parse(document: &[u8]) -> Result<Channel, ParseError> {
    let decoded = String::from_utf8_lossy(document);
    let source = decoded.strip_prefix('\u{feff}').unwrap_or(&decoded);
    let mut reader = Reader::from_str(source);
    // Bare `&` in text is common in real feeds; it is kept as a literal rather than refused.
    reader.config_mut().allow_dangling_amp = true;
    let mut builder = Builder::default();
    loop {
        match reader.read_event().map_err(not_xml)? {
            Event::Start(element) => builder.start(&element)?,
            Event::Empty(element) => {
                builder.start(&element)?;
                builder.end();
            }
            Event::End(_) => builder.end(),
            Event::Text(text) => builder.text(&text.decode().map_err(not_xml)?),
            Event::CData(data) => builder.text(&data.decode().map_err(not_xml)?),
            Event::GeneralRef(reference) => {
                // Unknown entities are dropped: without the DTD there is nothing to expand them to.
                let name = reference.decode().map_err(not_xml)?;
                if let Some(resolved) = text::resolve_entity(&name) {
                    builder.text(resolved.encode_utf8(&mut [0; 4]));
                }
            }
            Event::Eof => return builder.finish(),
            _ => {}
        }
    }
}

fn not_xml(error: impl std::fmt::Display) -> ParseError {
    ParseError::NotXml(error.to_string())
}

/// What an open element means to us, given where it sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Node {
    Rss,
    Channel,
    Item,
    Field(Field),
    Other,
}

/// Elements whose text we collect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    ChannelTitle,
    Title,
    Guid,
    PubDate,
    Duration,
}

/// The raw texts of the `<item>` being read; turned into an [`Episode`] when it closes.
#[derive(Debug, Default)]
struct ItemDraft {
    title: Option<String>,
    guid: Option<String>,
    pub_date: Option<String>,
    duration: Option<String>,
    enclosure: Option<Enclosure>,
}

#[derive(Debug)]
struct Enclosure {
    url: String,
    media_type: Option<String>,
    length: Option<u64>,
}

#[derive(Debug, Default)]
struct Builder {
    open: Vec<Node>,
    channel_seen: bool,
    channel_title: Option<String>,
    episodes: Vec<Episode>,
    /// `None` outside an item.
    item: Option<ItemDraft>,
    /// Text of the open [`Node::Field`]; fields cannot nest, so one buffer serves them all.
    text: String,
}

impl Builder {
    fn start(&mut self, element: &BytesStart<'_>) -> Result<(), ParseError> {
        let name = element.name();
        let node = self.classify(name.as_ref())?;
        match node {
            Node::Channel => self.channel_seen = true,
            Node::Item => self.item = Some(ItemDraft::default()),
            Node::Field(_) => self.text.clear(),
            Node::Rss | Node::Other => {}
        }
        if self.open.last() == Some(&Node::Item) && name.as_ref() == b"enclosure" {
            self.enclosure(element);
        }
        self.open.push(node);
        Ok(())
    }

    /// Names are compared as written, prefix included: `itunes:title` is not `title`.
    fn classify(&self, name: &[u8]) -> Result<Node, ParseError> {
        let node = match (self.open.last(), name) {
            (None, b"rss") => Node::Rss,
            // Anything else as the root element is not RSS; no need to read further.
            (None, _) => return Err(ParseError::NotRss),
            (Some(Node::Rss), b"channel") if !self.channel_seen => Node::Channel,
            (Some(Node::Channel), b"item") => Node::Item,
            (Some(Node::Channel), b"title") => Node::Field(Field::ChannelTitle),
            (Some(Node::Item), b"title") => Node::Field(Field::Title),
            (Some(Node::Item), b"guid") => Node::Field(Field::Guid),
            (Some(Node::Item), b"pubDate") => Node::Field(Field::PubDate),
            (Some(Node::Item), b"itunes:duration") => Node::Field(Field::Duration),
            _ => Node::Other,
        };
        Ok(node)
    }

    /// Keeps the first enclosure with an acceptable URL; malformed attributes are ignored.
    fn enclosure(&mut self, element: &BytesStart<'_>) {
        let Some(draft) = self.item.as_mut().filter(|draft| draft.enclosure.is_none()) else {
            return;
        };
        let (mut url, mut media_type, mut length) = (None, None, None);
        for attribute in element.attributes().flatten() {
            let value = text::unescape(&String::from_utf8_lossy(&attribute.value));
            match attribute.key.as_ref() {
                b"url" => url = text::media_url(&value),
                b"type" => media_type = text::media_type(&value),
                b"length" => length = value.trim().parse().ok(),
                _ => {}
            }
        }
        draft.enclosure = url.map(|url| Enclosure {
            url,
            media_type,
            length,
        });
    }

    fn text(&mut self, text: &str) {
        if matches!(self.open.last(), Some(Node::Field(_))) {
            self.text.push_str(text);
        }
    }

    fn end(&mut self) {
        match self.open.pop() {
            Some(Node::Field(field)) => self.store(field),
            Some(Node::Item) => self.finish_item(),
            _ => {}
        }
    }

    /// The first occurrence of a field wins, as for the channel title.
    fn store(&mut self, field: Field) {
        let text = std::mem::take(&mut self.text);
        if field == Field::ChannelTitle {
            self.channel_title.get_or_insert_with(|| text::title(&text));
            return;
        }
        let Some(draft) = self.item.as_mut() else {
            return;
        };
        let slot = match field {
            Field::ChannelTitle | Field::Title => &mut draft.title,
            Field::Guid => &mut draft.guid,
            Field::PubDate => &mut draft.pub_date,
            Field::Duration => &mut draft.duration,
        };
        slot.get_or_insert(text);
    }

    fn finish_item(&mut self) {
        if let Some(draft) = self.item.take()
            && let Some(episode) = draft.into_episode()
        {
            self.episodes.push(episode);
            // Trimmed now and then rather than at each item: memory stays within twice the bound.
            if self.episodes.len() >= 2 * MAX_EPISODES {
                keep_newest(&mut self.episodes);
            }
        }
    }

    fn finish(mut self) -> Result<Channel, ParseError> {
        if !self.channel_seen {
            return Err(ParseError::NotRss);
        }
        keep_newest(&mut self.episodes);
        Ok(Channel {
            title: self.channel_title.unwrap_or_default(),
            episodes: self.episodes,
        })
    }
}

/// The newest [`MAX_EPISODES`], in document order (a stable sort keeps the order of equal dates).
fn keep_newest(episodes: &mut Vec<Episode>) {
    if episodes.len() <= MAX_EPISODES {
        return;
    }
    let mut order: Vec<usize> = (0..episodes.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(episodes[i].published));
    let mut kept = vec![false; episodes.len()];
    for &i in &order[..MAX_EPISODES] {
        kept[i] = true;
    }
    let mut index = 0;
    episodes.retain(|_| {
        index += 1;
        kept[index - 1]
    });
}

impl ItemDraft {
    /// `None` for an item without a playable enclosure: there is nothing to listen to.
    fn into_episode(self) -> Option<Episode> {
        let enclosure = self.enclosure?;
        Some(Episode {
            title: self.title.as_deref().map(text::title).unwrap_or_default(),
            guid: self.guid.as_deref().and_then(text::guid),
            media_url: enclosure.url,
            media_type: enclosure.media_type,
            media_length: enclosure.length,
            published: self.pub_date.as_deref().and_then(text::date),
            duration_seconds: self.duration.as_deref().and_then(text::duration),
        })
    }
}
