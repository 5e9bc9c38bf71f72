//! Podcast feeds, pure: [`parse`] reads an RSS 2.0 document into its channel and episodes, bounded;
//! [`render`] writes one. No I/O: fetching is the caller's.

mod parse;
mod render;

pub use parse::{
    Channel, Episode, MAX_EPISODES, MAX_GUID_BYTES, MAX_TITLE_CHARS, MAX_URL_BYTES, ParseError,
    parse,
};
pub use render::{Feed, Item, render};
