//! Private feeds: `GET /rss/{token}/subscriptions`, one RSS feed of the newest episodes of every
//! podcast the play token's user is subscribed to, for a podcast app or feed reader that syncs
//! nothing itself. Its episodes' media links go through the play gateway with the same token, so
//! that playing one in that app records the listen (`crate::gateway`). The podcasts' feeds are
//! fetched by the server (`fetch`), and one that cannot be read is left out, never the whole feed.

pub mod fetch;

use crate::WebState;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use balados_feeds::{Channel, Feed, Item};
use balados_platform::http::ApiError;
use balados_platform::metrics::Counter;
use balados_schemas::{FeedUrl, ItemId};
use std::sync::Arc;

/// Episodes in a private feed, the newest.
pub const EPISODES: usize = 100;

const FETCHES: Counter = Counter {
    name: "balados_private_feed_sources_total",
    help: "Podcast feeds read for private feeds, by outcome: read, or left out (forbidden, \
           unreachable, an error status, not RSS).",
};

pub async fn subscriptions(
    State(state): State<WebState>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let Some(fetcher) = state.feeds.clone() else {
        return Err(ApiError::not_found("private feeds are not served here"));
    };
    let user = crate::gateway::user_of(&state, &token).await?;
    let Some(_building) = fetcher.start(user.as_str()) else {
        let mut busy = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "feed_in_progress",
            "this private feed is being made; retry in a few seconds",
        );
        busy.retry_after = Some(5);
        return Err(busy);
    };
    let feeds: Vec<(String,)> = sqlx::query_as(
        "SELECT feed_url FROM users.subscriptions
         WHERE user_id = $1 AND subscribed_at IS NOT NULL
           AND (unsubscribed_at IS NULL OR unsubscribed_at <= subscribed_at)
         ORDER BY subscribed_at, feed_id LIMIT $2",
    )
    .bind(user.as_str())
    .bind(i64::try_from(fetcher.max_feeds()).unwrap_or(i64::MAX))
    .fetch_all(&state.readers)
    .await
    .map_err(|e| {
        tracing::warn!(error = %e, "a private feed's subscriptions could not be read");
        ApiError::unavailable("the feed cannot be made now; retry shortly")
    })?;
    let channels = channels_of(&state, &fetcher, feeds).await;
    let base = state.public_url.trim_end_matches('/');
    let entries = newest_episodes(&channels, base, &token);
    let items: Vec<Item<'_>> = entries.iter().map(Entry::item).collect();
    let document = balados_feeds::render(&Feed {
        title: "Balados Sync — my subscriptions",
        link: &format!("{base}/account/subscriptions"),
        description: "The newest episodes of the podcasts I follow; playing them records my listens.",
        items: &items,
    });
    Ok((
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/rss+xml; charset=utf-8"),
            ),
            // The address holds a secret: no cache keeps the answer, no Referer carries it on.
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
        .into_response())
}

/// Each subscribed feed's channel, those that could be read: a few fetched at once (a share of
/// the instance's fetches, see [`fetch::Fetcher::per_request`]).
async fn channels_of(
    state: &WebState,
    fetcher: &Arc<fetch::Fetcher>,
    feeds: Vec<(String,)>,
) -> Vec<(FeedUrl, Arc<Channel>)> {
    let share = Arc::new(tokio::sync::Semaphore::new(fetcher.per_request()));
    let mut tasks = tokio::task::JoinSet::new();
    for (url,) in feeds {
        let (fetcher, share) = (fetcher.clone(), share.clone());
        tasks.spawn(async move {
            let _turn = share.acquire_owned().await;
            let channel = fetcher.channel(&url).await;
            (url, channel)
        });
    }
    let mut channels = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let Ok((url, channel)) = done else { continue };
        let outcome = match &channel {
            Ok(_) => "read",
            Err(fetch::FetchError::Forbidden) => "forbidden",
            Err(fetch::FetchError::Http(_)) => "unreachable",
            Err(fetch::FetchError::Status(_)) => "status",
            Err(fetch::FetchError::NotRss(_)) => "not_rss",
        };
        state
            .ingest
            .metrics
            .count(FETCHES, &[("outcome", outcome)], 1.0);
        if let (Ok(feed), Ok(channel)) = (FeedUrl::parse(&url), channel) {
            channels.push((feed, channel));
        }
    }
    channels
}

/// An episode as the private feed lists it.
#[derive(Debug)]
struct Entry<'a> {
    title: String,
    guid: String,
    link: String,
    episode: &'a balados_feeds::Episode,
}

impl Entry<'_> {
    fn item(&self) -> Item<'_> {
        Item {
            title: &self.title,
            guid: &self.guid,
            media_url: &self.link,
            media_type: self.episode.media_type.as_deref(),
            media_length: self.episode.media_length,
            published: self.episode.published,
            duration_seconds: self.episode.duration_seconds,
        }
    }
}

/// The newest [`EPISODES`] of `channels` (undated ones last), each titled with its podcast and
/// linked through the play gateway at `base` with `token`.
fn newest_episodes<'a>(
    channels: &'a [(FeedUrl, Arc<Channel>)],
    base: &str,
    token: &str,
) -> Vec<Entry<'a>> {
    let mut all: Vec<(&FeedUrl, &Channel, &balados_feeds::Episode)> = channels
        .iter()
        .flat_map(|(feed, channel)| channel.episodes.iter().map(move |e| (feed, &**channel, e)))
        .collect();
    all.sort_by_key(|e| std::cmp::Reverse(e.2.published));
    all.into_iter()
        .filter_map(|(feed, channel, episode)| {
            // As the gpodder actions name an episode without a GUID: by its media URL.
            let guid = episode.guid.as_deref().unwrap_or(&episode.media_url);
            let item = ItemId::new(guid, &episode.media_url).ok()?;
            let title = match (channel.title.as_str(), episode.title.as_str()) {
                ("", episode) => episode.to_owned(),
                (podcast, "") => podcast.to_owned(),
                (podcast, episode) => format!("{podcast} — {episode}"),
            };
            Some(Entry {
                title,
                guid: guid.to_owned(),
                link: format!("{base}/play/{token}/{}/{}", feed.id(), item.id()),
                episode,
            })
        })
        .take(EPISODES)
        .collect()
}
