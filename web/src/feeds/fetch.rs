//! Fetching the podcasts' own feeds for the private feeds, as a server that fetches what users
//! name must: only from public addresses (a user could otherwise make it read its own network —
//! a name is checked after it is resolved, and at every redirect), within a time and a size, a
//! bounded number at once, and each feed once for everybody for a while.

use super::addresses::{PublicOnly, allowed_url};
use balados_feeds::Channel;
use balados_platform::settings::FeedsSettings;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// Redirects followed at most.
const MAX_REDIRECTS: usize = 5;

/// What the cached feeds may hold together (their texts): each feed is kept with only the
/// episodes a private feed can show, and the oldest go first past this.
const CACHE_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, Clone, thiserror::Error)]
pub enum FetchError {
    #[error("the feed's address is not a public http(s) address")]
    Forbidden,
    #[error("the feed could not be fetched: {0}")]
    Http(String),
    #[error("the feed answered {0}")]
    Status(u16),
    #[error("the feed is not an RSS document: {0}")]
    NotRss(String),
}

impl FetchError {
    /// Why the feed was left out, as the `outcome` of the sources metric.
    pub fn outcome(&self) -> &'static str {
        match self {
            Self::Forbidden => "forbidden",
            Self::Http(_) => "unreachable",
            Self::Status(_) => "status",
            Self::NotRss(_) => "not_rss",
        }
    }
}

#[derive(Debug)]
struct Cached {
    at: Instant,
    bytes: usize,
    value: Result<Arc<Channel>, FetchError>,
}

#[derive(Debug, Default)]
struct Cache {
    entries: HashMap<String, Cached>,
    bytes: usize,
}

#[derive(Debug)]
pub struct Fetcher {
    client: reqwest::Client,
    settings: FeedsSettings,
    permits: Semaphore,
    cache: Mutex<Cache>,
    /// The users whose private feed is being made: one at a time each.
    building: Arc<Mutex<HashSet<String>>>,
}

/// A user's private feed being made; dropped when it is done.
#[derive(Debug)]
pub struct Building {
    building: Arc<Mutex<HashSet<String>>>,
    user: String,
}

impl Drop for Building {
    fn drop(&mut self) {
        if let Ok(mut building) = self.building.lock() {
            building.remove(&self.user);
        }
    }
}

impl Fetcher {
    pub fn new(settings: &FeedsSettings) -> Result<Self, reqwest::Error> {
        let allow_private = settings.allow_private_addresses;
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= MAX_REDIRECTS {
                attempt.error("too many redirects")
            } else if !allowed_url(attempt.url(), allow_private) {
                attempt.error("a redirect to an address that is not public")
            } else {
                attempt.follow()
            }
        });
        let client = reqwest::Client::builder()
            // A proxy would resolve the names itself, past the check.
            .no_proxy()
            .dns_resolver(Arc::new(PublicOnly { allow_private }))
            .redirect(redirects)
            .timeout(Duration::from_millis(settings.fetch_timeout_ms))
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!(
                "BaladosSync/",
                env!("CARGO_PKG_VERSION"),
                " (private feeds)"
            ))
            .build()?;
        Ok(Self {
            client,
            settings: settings.clone(),
            permits: Semaphore::new(settings.concurrency),
            cache: Mutex::new(Cache::default()),
            building: Arc::default(),
        })
    }

    /// The feeds one private feed reads at most.
    pub fn max_feeds(&self) -> usize {
        self.settings.max_feeds
    }

    /// Feeds one private feed fetches at once: a share of the instance's fetches, so that one
    /// user's slow podcasts leave room for other users'.
    pub fn per_request(&self) -> usize {
        (self.settings.concurrency / 4).max(1)
    }

    /// Marks `user`'s private feed as being made, or `None` when it already is: one user's
    /// requests never take more than one share of the fetches.
    pub fn start(&self, user: &str) -> Option<Building> {
        let mut building = self.building.lock().ok()?;
        building.insert(user.to_owned()).then(|| Building {
            building: self.building.clone(),
            user: user.to_owned(),
        })
    }

    /// The channel of the feed at `url`, from the cache while it is fresh.
    pub async fn channel(&self, url: &str) -> Result<Arc<Channel>, FetchError> {
        if let Some(value) = self.cached(url) {
            return value;
        }
        let value = self.fetch(url).await;
        self.keep(url, value.clone());
        value
    }

    fn cached(&self, url: &str) -> Option<Result<Arc<Channel>, FetchError>> {
        let cache = self.cache.lock().ok()?;
        let entry = cache.entries.get(url)?;
        let life = Duration::from_secs(self.settings.cache_seconds);
        // A failure is tried again sooner: a feed down for a minute is not gone for a quarter hour.
        let life = if entry.value.is_ok() { life } else { life / 10 };
        (entry.at.elapsed() < life).then(|| entry.value.clone())
    }

    /// Keeps `value`, the oldest going first past the cache's count or bytes.
    fn keep(&self, url: &str, value: Result<Arc<Channel>, FetchError>) {
        let Ok(mut cache) = self.cache.lock() else {
            return;
        };
        if let Some(replaced) = cache.entries.remove(url) {
            cache.bytes -= replaced.bytes;
        }
        let bytes = url.len() + value.as_ref().map_or(0, |c| size(c));
        while cache.entries.len() >= self.settings.cache_entries
            || (!cache.entries.is_empty() && cache.bytes + bytes > CACHE_BYTES)
        {
            let oldest = cache
                .entries
                .iter()
                .min_by_key(|(_, c)| c.at)
                .map(|(k, _)| k.clone());
            let Some(gone) = oldest.and_then(|k| cache.entries.remove(&k)) else {
                break;
            };
            cache.bytes -= gone.bytes;
        }
        cache.bytes += bytes;
        cache.entries.insert(
            url.to_owned(),
            Cached {
                at: Instant::now(),
                bytes,
                value,
            },
        );
    }

    async fn fetch(&self, url: &str) -> Result<Arc<Channel>, FetchError> {
        let parsed = reqwest::Url::parse(url).map_err(|_| FetchError::Forbidden)?;
        if !allowed_url(&parsed, self.settings.allow_private_addresses) {
            return Err(FetchError::Forbidden);
        }
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| FetchError::Http(e.to_string()))?;
        let mut response = self
            .client
            .get(parsed)
            .send()
            .await
            .map_err(|e| FetchError::Http(e.without_url().to_string()))?;
        if !response.status().is_success() {
            return Err(FetchError::Status(response.status().as_u16()));
        }
        // Read up to the bound: a longer document is cut and read as far as it goes.
        let mut body = Vec::new();
        while body.len() < self.settings.max_bytes {
            match response.chunk().await {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(e) => return Err(FetchError::Http(e.without_url().to_string())),
            }
        }
        body.truncate(self.settings.max_bytes);
        let mut channel =
            balados_feeds::parse(&body).map_err(|e| FetchError::NotRss(e.to_string()))?;
        // Only the newest can be shown: the rest would fill the cache for nothing.
        channel
            .episodes
            .sort_by_key(|e| std::cmp::Reverse(e.published));
        channel.episodes.truncate(super::EPISODES);
        Ok(Arc::new(channel))
    }
}

/// What a channel's texts take, roughly.
fn size(channel: &Channel) -> usize {
    let episode = |e: &balados_feeds::Episode| {
        64 + e.title.len()
            + e.media_url.len()
            + e.guid.as_ref().map_or(0, String::len)
            + e.media_type.as_ref().map_or(0, String::len)
    };
    channel.title.len() + channel.episodes.iter().map(episode).sum::<usize>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(cache_entries: usize) -> FeedsSettings {
        FeedsSettings {
            fetch_timeout_ms: 1_000,
            max_bytes: 65_536,
            cache_seconds: 60,
            cache_entries,
            max_feeds: 10,
            concurrency: 8,
            allow_private_addresses: false,
        }
    }

    #[test]
    fn the_cache_keeps_the_newest_feeds_within_its_count() {
        let fetcher = Fetcher::new(&settings(2)).expect("a client");
        let channel = Arc::new(Channel {
            title: "A podcast".into(),
            episodes: Vec::new(),
        });
        for url in [
            "https://a.example/",
            "https://b.example/",
            "https://c.example/",
        ] {
            fetcher.keep(url, Ok(channel.clone()));
            std::thread::sleep(Duration::from_millis(2));
        }
        assert!(
            fetcher.cached("https://a.example/").is_none(),
            "the oldest went"
        );
        assert!(fetcher.cached("https://b.example/").is_some());
        assert!(fetcher.cached("https://c.example/").is_some());
        fetcher.keep("https://d.example/", Err(FetchError::Status(500)));
        assert!(matches!(
            fetcher.cached("https://d.example/"),
            Some(Err(FetchError::Status(500)))
        ));
        assert!(fetcher.cached("https://b.example/").is_none());
    }

    #[test]
    fn a_user_makes_one_private_feed_at_a_time_with_a_share_of_the_fetches() {
        let fetcher = Fetcher::new(&settings(10)).expect("a client");
        assert_eq!(fetcher.per_request(), 2);
        let first = fetcher.start("ann");
        assert!(first.is_some());
        assert!(fetcher.start("ann").is_none(), "ann's second request waits");
        assert!(fetcher.start("bob").is_some(), "other users do not");
        drop(first);
        assert!(fetcher.start("ann").is_some(), "done: ann may again");
    }
}
