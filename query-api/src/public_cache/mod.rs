//! The public answers (trending, popularity, timeline: the same for everyone) are shared for a
//! short while: a crowd asking for the trending list costs PostgreSQL one query per
//! `query.public_cache_ms`, not one per request.
//!
//! - Key: the path and raw query string of a `GET` (longer than [`MAX_KEY`]: not cached). A read
//!   with a consistency token is never served from the cache: it asks for a fresher answer.
//! - Single flight: of the requests that find no live answer under a key, one (the leader)
//!   computes it and the others wait for it. The leader's answer, buffered, is given to its
//!   waiters whatever its status; only a 200 is kept for later requests. An answer that cannot be
//!   buffered (streamed, or over [`MAX_BODY`]) is not shared: its waiters compute their own. A
//!   leader whose request is dropped (its client went away, its deadline passed) abandons its
//!   flight; its waiters then look again, and one of them leads.
//! - A waiter waits only for a leader that started before it, so it is released no later than
//!   the leader's request deadline (and dropped at its own).
//! - Validators: every 200 carries a strong `ETag` and honours `If-None-Match` with a 304; a kept
//!   one says `Cache-Control: public, max-age=` what is left of its life here, any other
//!   `no-cache`.

mod answer;
mod store;
#[cfg(test)]
mod tests;
mod validators;

use crate::consistency;
use answer::{buffer, reply, unshared};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use balados_platform::metrics::{Counter, Metrics};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use store::{Entry, Flight, Lookup, Store};
use tokio::sync::watch;
use tokio::time::Instant;

/// Longest path and query string cached: past it, a request is served without the cache.
pub const MAX_KEY: usize = 4 * 1024;
/// Largest body buffered (shared and tagged); the public answers are a few tens of KiB at most.
pub const MAX_BODY: usize = 256 * 1024;
/// Keys and bodies kept at most, whatever `query.public_cache_entries` allows: entries full of
/// the largest bodies would otherwise take `entries` × 256 KiB.
const MAX_BYTES: usize = 64 * 1024 * 1024;

const REQUESTS: Counter = Counter {
    name: "balados_query_public_cache_total",
    help: "Public GET requests by how the cache served them: hit (a kept answer), wait (the answer \
           of a request computing it), miss (computed and shared), bypass (computed, not shared), \
           not_modified (a 304, whichever way).",
};

/// How a request was served, for [`REQUESTS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Hit,
    Wait,
    Miss,
    Bypass,
    NotModified,
}

impl Outcome {
    const ALL: [Outcome; 5] = [
        Self::Hit,
        Self::Wait,
        Self::Miss,
        Self::Bypass,
        Self::NotModified,
    ];

    fn label(self) -> &'static str {
        match self {
            Self::Hit => "hit",
            Self::Wait => "wait",
            Self::Miss => "miss",
            Self::Bypass => "bypass",
            Self::NotModified => "not_modified",
        }
    }
}

/// `query.public_cache_ms` and `query.public_cache_entries`.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// How long an answer is kept; zero turns the cache off (answers still get their `ETag`).
    pub ttl: Duration,
    pub max_entries: usize,
}

/// The cache, shared by every clone.
#[derive(Debug, Clone)]
pub struct PublicCache {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    ttl: Duration,
    store: Mutex<Store>,
    metrics: Metrics,
}

impl PublicCache {
    pub fn new(limits: Limits, metrics: &Metrics) -> Self {
        // At zero from the start, so that a rate over the outcomes sees the first of each.
        for outcome in Outcome::ALL {
            metrics.count(REQUESTS, &[("outcome", outcome.label())], 0.0);
        }
        Self {
            inner: Arc::new(Inner {
                ttl: limits.ttl,
                store: Mutex::new(Store::new(limits.max_entries, MAX_BYTES)),
                metrics: metrics.clone(),
            }),
        }
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        // The table stays consistent between statements: a panic elsewhere cannot break it.
        self.inner
            .store
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn count(&self, outcome: Outcome) {
        self.inner
            .metrics
            .count(REQUESTS, &[("outcome", outcome.label())], 1.0);
    }

    /// The key of `request`, if it may be served from the cache.
    fn key(&self, request: &Request) -> Option<String> {
        if self.inner.ttl.is_zero() || request.headers().contains_key(consistency::HEADER) {
            return None;
        }
        let key = request.uri().path_and_query()?.as_str();
        (key.len() <= MAX_KEY).then(|| key.to_owned())
    }
}

/// The middleware over the public routes.
pub async fn serve(State(cache): State<PublicCache>, request: Request, next: Next) -> Response {
    // A HEAD's answer has no body to tag or keep; other methods are refused by the routes.
    if request.method() != Method::GET {
        cache.count(Outcome::Bypass);
        return next.run(request).await;
    }
    let conditions: Vec<HeaderValue> = request
        .headers()
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .cloned()
        .collect();
    let (response, outcome) = match cache.key(&request) {
        Some(key) => through_cache(&cache, key, request, next, &conditions).await,
        None => (uncached(request, next, &conditions).await, Outcome::Bypass),
    };
    cache.count(if response.status() == StatusCode::NOT_MODIFIED {
        Outcome::NotModified
    } else {
        outcome
    });
    response
}

async fn through_cache(
    cache: &PublicCache,
    key: String,
    request: Request,
    next: Next,
    conditions: &[HeaderValue],
) -> (Response, Outcome) {
    loop {
        let found = cache.store().lookup(&key, Instant::now());
        match found {
            Lookup::Hit(entry) => return (reply(&entry, conditions), Outcome::Hit),
            Lookup::Wait(mut flight) => {
                let ended = flight
                    .wait_for(|f| !matches!(f, Flight::Running))
                    .await
                    .map(|f| f.clone());
                match ended {
                    Ok(Flight::Shared(entry)) => return (reply(&entry, conditions), Outcome::Wait),
                    Ok(_) => break,
                    // The leader was dropped: look again (one of the waiters leads now).
                    Err(_) => continue,
                }
            }
            Lookup::Lead(id, done) => {
                let lead = Lead {
                    cache,
                    key: &key,
                    id,
                    done: Some(done),
                };
                let answer = buffer(next.run(request).await).await;
                return match answer {
                    Ok(entry) => {
                        let entry = lead.share(entry);
                        (reply(&entry, conditions), Outcome::Miss)
                    }
                    Err(streamed) => {
                        lead.unshared();
                        (unshared(streamed), Outcome::Bypass)
                    }
                };
            }
            Lookup::Full => break,
        }
    }
    (uncached(request, next, conditions).await, Outcome::Bypass)
}

/// The leader of a flight. Dropped before it reports (its request was dropped), it abandons the
/// flight: its slot goes, and the waiters see the sender gone.
struct Lead<'a> {
    cache: &'a PublicCache,
    key: &'a str,
    id: u64,
    done: Option<watch::Sender<Flight>>,
}

impl Lead<'_> {
    /// Keeps `entry` if it is a 200, and gives it to the waiters.
    fn share(mut self, mut entry: Entry) -> Arc<Entry> {
        let ok = entry.status == StatusCode::OK;
        if ok {
            entry.expires = Some(Instant::now() + self.cache.inner.ttl);
        }
        let entry = Arc::new(entry);
        {
            let mut store = self.cache.store();
            if ok {
                store.keep(self.key, self.id, entry.clone());
            } else {
                store.end(self.key, self.id);
            }
        }
        self.report(Flight::Shared(entry.clone()));
        entry
    }

    fn unshared(mut self) {
        self.cache.store().end(self.key, self.id);
        self.report(Flight::Unshared);
    }

    fn report(&mut self, flight: Flight) {
        if let Some(done) = self.done.take() {
            // Stored even without a receiver (`send` would drop it): none left means none waits.
            done.send_replace(flight);
        }
    }
}

impl Drop for Lead<'_> {
    fn drop(&mut self) {
        if self.done.is_some() {
            self.cache.store().end(self.key, self.id);
        }
    }
}

/// Served without the cache, but tagged (and answered 304) all the same when it can be buffered.
async fn uncached(request: Request, next: Next, conditions: &[HeaderValue]) -> Response {
    match buffer(next.run(request).await).await {
        Ok(entry) => reply(&entry, conditions),
        Err(streamed) => unshared(streamed),
    }
}
