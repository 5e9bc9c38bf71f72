//! `GET /toplist/{count}.{json,opml,txt}`, without authentication: the podcasts of our all-time
//! popularity ranking (the read API's `trending/podcasts?period=all`, the same query), as
//! gpodder.net's directory answers them. We know no titles or artwork: the title is the feed's
//! URL, and the other descriptive fields are empty.

use crate::GpodderState;
use crate::error::GpodderError;
use crate::formats::Format;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use balados_platform::http::PathParams;
use serde::Serialize;

/// gpodder.net's bound on a toplist; a larger count is answered with this many.
pub const MAX_COUNT: i64 = 100;

/// A podcast as mygpoclient's `simple.Podcast.from_dict` needs it: every key present.
#[derive(Debug, Serialize)]
pub struct Podcast {
    pub url: String,
    pub title: String,
    pub description: String,
    pub website: String,
    pub subscribers: i64,
    pub subscribers_last_week: i64,
    pub mygpo_link: String,
    pub logo_url: Option<String>,
}

impl Podcast {
    /// A podcast we know only by its feed URL.
    pub fn of_url(url: String, subscribers: i64) -> Self {
        Self {
            title: url.clone(),
            url,
            description: String::new(),
            website: String::new(),
            subscribers,
            subscribers_last_week: subscribers,
            mygpo_link: String::new(),
            logo_url: None,
        }
    }
}

/// `count` and the format from `{count}.{ext}`.
fn parse(file: &str) -> Result<(i64, Format), GpodderError> {
    let not_found = || GpodderError::not_found("no such route (expected /toplist/{count}.json)");
    let (count, extension) = file.rsplit_once('.').ok_or_else(not_found)?;
    let format = Format::parse(extension).ok_or_else(not_found)?;
    let count = count
        .parse::<i64>()
        .ok()
        .filter(|c| *c >= 1)
        .ok_or_else(|| GpodderError::bad_request("invalid_count", "count is at least 1"))?;
    Ok((count.min(MAX_COUNT), format))
}

pub async fn toplist(
    State(state): State<GpodderState>,
    PathParams(file): PathParams<String>,
) -> Result<Response, GpodderError> {
    let (count, format) = parse(&file)?;
    let ranked = balados_query_api::toplist::all_time_podcasts(&state.readers, count).await?;
    if format != Format::Json {
        let urls: Vec<String> = ranked.into_iter().map(|p| p.feed_url).collect();
        return Ok(format.respond(&urls));
    }
    let podcasts: Vec<Podcast> = ranked
        .into_iter()
        .map(|p| Podcast::of_url(p.feed_url, p.subscribes))
        .collect();
    Ok(Json(podcasts).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_is_bounded_and_the_format_named() {
        assert_eq!(parse("10.json").map(|(c, _)| c).ok(), Some(10));
        assert_eq!(parse("500.json").map(|(c, _)| c).ok(), Some(MAX_COUNT));
        assert_eq!(parse("5.opml").map(|(_, f)| f).ok(), Some(Format::Opml));
        assert!(parse("0.json").is_err());
        assert!(parse("x.json").is_err());
        assert!(parse("10.xml").is_err());
        assert!(parse("10").is_err());
    }
}
