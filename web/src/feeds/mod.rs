//! Private feeds, for a podcast app or feed reader that syncs nothing itself, each behind the play
//! token's user: `GET /rss/{token}/subscriptions` (the newest episodes of every podcast the user
//! follows), `/rss/{token}/collections/{id}` (the same for a collection's podcasts) and
//! `/rss/{token}/playlists/{id}` (a playlist's episodes, in its order). Their media links go
//! through the play gateway with the same token, so that playing one in that app records the
//! listen (`crate::gateway`). The podcasts' feeds are fetched by the server (`fetch`); one that
//! cannot be read is left out (a playlist's episode stays, with what the playlist knows of it).

mod addresses;
pub mod fetch;
mod lists;

use crate::WebState;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use balados_feeds::{Channel, Episode, Feed, Item};
use balados_platform::http::ApiError;
use balados_platform::metrics::Counter;
use balados_schemas::{FeedUrl, ItemId, UserId};
use std::collections::HashMap;
use std::sync::Arc;

/// Episodes in a private feed: the newest, or a playlist's first.
pub const EPISODES: usize = 100;

const FETCHES: Counter = Counter {
    name: "balados_private_feed_sources_total",
    help: "Podcast feeds read for private feeds, by outcome: read, or left out (forbidden, \
           unreachable, an error status, not RSS).",
};

/// A private feed being made for the token's user (one at a time per user).
struct Request {
    state: WebState,
    fetcher: Arc<fetch::Fetcher>,
    user: UserId,
    token: String,
    _building: fetch::Building,
}

impl Request {
    async fn open(state: WebState, token: String) -> Result<Self, ApiError> {
        let Some(fetcher) = state.feeds.clone() else {
            return Err(ApiError::not_found("private feeds are not served here"));
        };
        let user = crate::gateway::user_of(&state, &token).await?;
        let Some(building) = fetcher.start(user.as_str()) else {
            let mut busy = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "feed_in_progress",
                "this private feed is being made; retry in a few seconds",
            );
            busy.retry_after = Some(5);
            return Err(busy);
        };
        Ok(Self {
            state,
            fetcher,
            user,
            token,
            _building: building,
        })
    }

    /// The gateway link of an episode of `feed`.
    fn link(&self, feed: &FeedUrl, item: &ItemId) -> String {
        let base = self.state.public_url.trim_end_matches('/');
        format!("{base}/play/{}/{}/{}", self.token, feed.id(), item.id())
    }

    /// The RSS document of `entries`, titled `title`, as the answer.
    fn answer(&self, title: &str, entries: &[Entry]) -> Response {
        let base = self.state.public_url.trim_end_matches('/');
        let items: Vec<Item<'_>> = entries.iter().map(Entry::item).collect();
        let document = balados_feeds::render(&Feed {
            title: &format!("Balados Sync — {title}"),
            link: &format!("{base}/account"),
            description: "Playing these episodes records my listens.",
            items: &items,
        });
        (
            StatusCode::OK,
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/rss+xml; charset=utf-8"),
                ),
                // The address holds a secret: no cache keeps the answer, no Referer carries it.
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("private, no-store"),
                ),
                (
                    header::REFERRER_POLICY,
                    HeaderValue::from_static("no-referrer"),
                ),
            ],
            document,
        )
            .into_response()
    }

    /// Each feed's channel, those that could be read: a few fetched at once (a share of the
    /// instance's fetches, see [`fetch::Fetcher::per_request`]).
    async fn channels(&self, feeds: Vec<String>) -> HashMap<FeedUrl, Arc<Channel>> {
        let share = Arc::new(tokio::sync::Semaphore::new(self.fetcher.per_request()));
        let mut tasks = tokio::task::JoinSet::new();
        for url in feeds {
            let (fetcher, share) = (self.fetcher.clone(), share.clone());
            tasks.spawn(async move {
                let _turn = share.acquire_owned().await;
                let channel = fetcher.channel(&url).await;
                (url, channel)
            });
        }
        let mut channels = HashMap::new();
        while let Some(done) = tasks.join_next().await {
            let Ok((url, channel)) = done else { continue };
            let outcome = channel
                .as_ref()
                .map_or_else(fetch::FetchError::outcome, |_| "read");
            let metrics = &self.state.ingest.metrics;
            metrics.count(FETCHES, &[("outcome", outcome)], 1.0);
            if let (Ok(feed), Ok(channel)) = (FeedUrl::parse(&url), channel) {
                channels.insert(feed, channel);
            }
        }
        channels
    }

    /// The newest [`EPISODES`] of the feeds (undated ones last).
    async fn newest(&self, feeds: Vec<String>) -> Vec<Entry> {
        let channels = self.channels(feeds).await;
        let mut all: Vec<(&FeedUrl, &Channel, &Episode)> = channels
            .iter()
            .flat_map(|(feed, channel)| channel.episodes.iter().map(move |e| (feed, &**channel, e)))
            .collect();
        all.sort_by_key(|e| std::cmp::Reverse(e.2.published));
        all.into_iter()
            .filter_map(|(feed, channel, episode)| {
                // As the gpodder actions name an episode without a GUID: by its media URL.
                let guid = episode.guid.as_deref().unwrap_or(&episode.media_url);
                let item = ItemId::new(guid, &episode.media_url).ok()?;
                Some(Entry::of(
                    self.link(feed, &item),
                    guid,
                    &channel.title,
                    episode,
                ))
            })
            .take(EPISODES)
            .collect()
    }
}

fn unavailable(e: sqlx::Error) -> ApiError {
    tracing::warn!(error = %e, "a private feed's list could not be read");
    ApiError::unavailable("the feed cannot be made now; retry shortly")
}

pub async fn subscriptions(
    State(state): State<WebState>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let request = Request::open(state, token).await?;
    let feeds = lists::subscriptions(&request).await.map_err(unavailable)?;
    let entries = request.newest(feeds).await;
    Ok(request.answer("my subscriptions", &entries))
}

pub async fn collection(
    State(state): State<WebState>,
    Path((token, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let request = Request::open(state, token).await?;
    let (title, feeds) = lists::collection(&request, &id)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| ApiError::not_found("no such collection"))?;
    let entries = request.newest(feeds).await;
    Ok(request.answer(&title, &entries))
}

pub async fn playlist(
    State(state): State<WebState>,
    Path((token, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let request = Request::open(state, token).await?;
    let (name, items) = lists::playlist(&request, &id)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| ApiError::not_found("no such playlist"))?;
    let mut feeds: Vec<String> = items.iter().map(|i| i.feed_url.clone()).collect();
    feeds.sort();
    feeds.dedup();
    let channels = request.channels(feeds).await;
    let entries: Vec<Entry> = items
        .iter()
        .filter_map(|i| {
            let feed = FeedUrl::parse(&i.feed_url).ok()?;
            let item = ItemId::new(&i.guid, &i.enclosure_url).ok()?;
            let link = request.link(&feed, &item);
            let channel = channels.get(&feed);
            let found = channel.and_then(|c| {
                c.episodes
                    .iter()
                    .find(|e| e.guid.as_deref() == Some(&i.guid) || e.media_url == i.enclosure_url)
            });
            Some(match (channel, found) {
                (Some(c), Some(e)) => Entry::of(link, &i.guid, &c.title, e),
                // The feed unread, or the episode gone from it: what the playlist knows.
                _ => Entry::unknown(link, &i.guid, &i.enclosure_url),
            })
        })
        .collect();
    Ok(request.answer(&name, &entries))
}

/// An episode as a private feed lists it.
#[derive(Debug)]
struct Entry {
    title: String,
    guid: String,
    link: String,
    media_type: Option<String>,
    media_length: Option<u64>,
    published: Option<chrono::DateTime<chrono::Utc>>,
    duration_seconds: Option<u64>,
}

impl Entry {
    /// `episode` of the podcast `podcast`, titled with both.
    fn of(link: String, guid: &str, podcast: &str, episode: &Episode) -> Self {
        let title = match (podcast, episode.title.as_str()) {
            ("", episode) => episode.to_owned(),
            (podcast, "") => podcast.to_owned(),
            (podcast, episode) => format!("{podcast} — {episode}"),
        };
        Self {
            title,
            guid: guid.to_owned(),
            link,
            media_type: episode.media_type.clone(),
            media_length: episode.media_length,
            published: episode.published,
            duration_seconds: episode.duration_seconds,
        }
    }

    /// An episode known only by its GUID and media URL: titled with its media file's name.
    fn unknown(link: String, guid: &str, media_url: &str) -> Self {
        let file = media_url
            .split(['?', '#'])
            .next()
            .and_then(|path| path.rsplit('/').find(|s| !s.is_empty()))
            .unwrap_or(media_url);
        Self {
            title: file.to_owned(),
            guid: guid.to_owned(),
            link,
            media_type: None,
            media_length: None,
            published: None,
            duration_seconds: None,
        }
    }

    fn item(&self) -> Item<'_> {
        Item {
            title: &self.title,
            guid: &self.guid,
            media_url: &self.link,
            media_type: self.media_type.as_deref(),
            media_length: self.media_length,
            published: self.published,
            duration_seconds: self.duration_seconds,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_episode_known_only_by_its_media_is_titled_with_its_file_name() {
        let title = |media: &str| Entry::unknown(String::new(), "g", media).title;
        assert_eq!(
            title("https://cdn.example/show/ep%201.mp3?t=1#x"),
            "ep%201.mp3"
        );
        assert_eq!(title("https://cdn.example/show/42/"), "42");
        assert_eq!(title("https://cdn.example"), "cdn.example");
    }
}
