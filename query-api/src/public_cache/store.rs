//! The cache's table, without I/O: kept answers and answers being computed ("flights"), at most
//! `max_entries` of them together and `max_bytes` of keys and bodies. When room is needed the
//! oldest kept answers go first — with one TTL for all, the oldest are also the first to expire,
//! so expired ones always go before live ones. A flight is never evicted (its leader removes it),
//! so when flights alone fill the table a new key is simply not cached.

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use tokio::sync::watch;
use tokio::time::Instant;

/// An answer as its handler gave it, buffered.
#[derive(Debug)]
pub struct Entry {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub etag: HeaderValue,
    /// Until when later requests are served from it; `None` for an answer that was not kept (not
    /// a 200, or not cacheable): shared at most with the requests that waited for it.
    pub expires: Option<Instant>,
}

/// Where a flight stands, as its waiters see it.
#[derive(Debug, Clone)]
pub enum Flight {
    Running,
    /// The leader's answer, buffered: kept if a 200, shared with the waiters in any case.
    Shared(Arc<Entry>),
    /// The leader's answer could not be shared (streamed, or too large): waiters compute theirs.
    Unshared,
}

/// What a request finds under its key.
#[derive(Debug)]
pub enum Lookup {
    Hit(Arc<Entry>),
    /// Another request computes the answer: wait for it.
    Wait(watch::Receiver<Flight>),
    /// This request computes the answer, as flight `id`, and reports it on the sender.
    Lead(u64, watch::Sender<Flight>),
    /// No room (flights fill the table): compute without the cache.
    Full,
}

#[derive(Debug)]
enum Slot {
    /// A kept answer and its place in `Store::order`.
    Kept(u64, Arc<Entry>),
    Flight(u64, watch::Receiver<Flight>),
}

#[derive(Debug)]
pub struct Store {
    slots: HashMap<Arc<str>, Slot>,
    /// The kept answers, oldest first (by the sequence number of their slot).
    order: BTreeMap<u64, Arc<str>>,
    /// Keys and bodies of the kept answers.
    bytes: usize,
    next: u64,
    max_entries: usize,
    max_bytes: usize,
}

impl Store {
    pub fn new(max_entries: usize, max_bytes: usize) -> Self {
        Self {
            slots: HashMap::new(),
            order: BTreeMap::new(),
            bytes: 0,
            next: 0,
            max_entries,
            max_bytes,
        }
    }

    pub fn lookup(&mut self, key: &str, now: Instant) -> Lookup {
        match self.slots.get(key) {
            Some(Slot::Kept(_, entry)) if entry.expires.is_some_and(|e| now < e) => {
                return Lookup::Hit(entry.clone());
            }
            Some(Slot::Flight(_, running)) => return Lookup::Wait(running.clone()),
            // Expired: its slot is taken over by the flight that renews it.
            Some(Slot::Kept(..)) => {}
            None => {
                self.drop_expired(now);
                if self.slots.len() >= self.max_entries && !self.evict_oldest() {
                    return Lookup::Full;
                }
            }
        }
        let id = self.sequence();
        let (done, running) = watch::channel(Flight::Running);
        let key: Arc<str> = Arc::from(key);
        if let Some(Slot::Kept(seq, entry)) =
            self.slots.insert(key.clone(), Slot::Flight(id, running))
        {
            self.forget(seq, &key, &entry);
        }
        Lookup::Lead(id, done)
    }

    /// Flight `id` of `key` ended with `entry` to keep: it takes the flight's slot (and room is
    /// made for its bytes).
    pub fn keep(&mut self, key: &str, id: u64, entry: Arc<Entry>) {
        let Some((key, Slot::Flight(flight, _))) = self.slots.get_key_value(key) else {
            return;
        };
        if *flight != id {
            return;
        }
        let key = key.clone();
        let seq = self.sequence();
        self.bytes += key.len() + entry.body.len();
        self.order.insert(seq, key.clone());
        self.slots.insert(key, Slot::Kept(seq, entry));
        while self.bytes > self.max_bytes && self.evict_oldest() {}
    }

    /// Flight `id` of `key` ended with nothing to keep, or was abandoned: its slot goes.
    pub fn end(&mut self, key: &str, id: u64) {
        if matches!(self.slots.get(key), Some(Slot::Flight(flight, _)) if *flight == id) {
            self.slots.remove(key);
        }
    }

    fn sequence(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    fn drop_expired(&mut self, now: Instant) {
        while let Some((_, key)) = self.order.first_key_value() {
            let expired = match self.slots.get(key) {
                Some(Slot::Kept(_, entry)) => entry.expires.is_none_or(|e| e <= now),
                _ => true,
            };
            if !expired || !self.evict_oldest() {
                return;
            }
        }
    }

    /// Removes the oldest kept answer; `false` when there is none.
    fn evict_oldest(&mut self) -> bool {
        let Some((_, key)) = self.order.pop_first() else {
            return false;
        };
        if let Some(Slot::Kept(_, entry)) = self.slots.remove(&key) {
            self.bytes -= key.len() + entry.body.len();
        }
        true
    }

    /// Accounts for a kept answer whose slot was just replaced.
    fn forget(&mut self, seq: u64, key: &str, entry: &Entry) {
        self.order.remove(&seq);
        self.bytes -= key.len() + entry.body.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const TTL: Duration = Duration::from_secs(1);

    fn entry(body: &'static str, expires: Instant) -> Arc<Entry> {
        Arc::new(Entry {
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            body: Bytes::from_static(body.as_bytes()),
            etag: HeaderValue::from_static("\"t\""),
            expires: Some(expires),
        })
    }

    /// Looks `key` up and, if it leads, keeps `body` for it.
    fn fill(store: &mut Store, key: &str, body: &'static str, now: Instant) -> bool {
        match store.lookup(key, now) {
            Lookup::Lead(id, _) => {
                store.keep(key, id, entry(body, now + TTL));
                true
            }
            _ => false,
        }
    }

    fn is_hit(store: &mut Store, key: &str, now: Instant) -> bool {
        matches!(store.lookup(key, now), Lookup::Hit(_))
    }

    #[test]
    fn more_keys_than_entries_never_grow_the_table_past_its_bound() {
        let mut store = Store::new(8, usize::MAX);
        let now = Instant::now();
        for i in 0..100 {
            assert!(fill(&mut store, &format!("/k?{i}"), "body", now));
            assert!(
                store.slots.len() <= 8,
                "{} entries after {i}",
                store.slots.len()
            );
        }
        assert_eq!(store.slots.len(), 8);
        // The newest stayed, the oldest went.
        assert!(is_hit(&mut store, "/k?99", now));
        assert!(is_hit(&mut store, "/k?92", now));
        assert!(!is_hit(&mut store, "/k?0", now));
    }

    #[test]
    fn expired_answers_are_evicted_before_live_ones_and_renewed_in_place() {
        let mut store = Store::new(3, usize::MAX);
        let start = Instant::now();
        assert!(fill(&mut store, "/a", "a", start));
        assert!(fill(&mut store, "/b", "b", start + TTL / 2));
        let later = start + TTL;
        // "/a" expired: renewing it takes its slot.
        assert!(fill(&mut store, "/a", "a2", later));
        assert_eq!(store.slots.len(), 2);
        assert!(fill(&mut store, "/c", "c", later));
        let after_b = start + TTL / 2 + TTL;
        // "/b" expired, "/a" and "/c" live: "/b" makes room.
        assert!(fill(&mut store, "/d", "d", after_b));
        assert_eq!(store.slots.len(), 3);
        assert!(is_hit(&mut store, "/a", after_b));
        assert!(is_hit(&mut store, "/c", after_b));
        assert!(!is_hit(&mut store, "/b", after_b));
    }

    #[test]
    fn a_table_full_of_flights_caches_nothing_more_and_evicts_no_flight() {
        let mut store = Store::new(2, usize::MAX);
        let now = Instant::now();
        let (Lookup::Lead(a, _), Lookup::Lead(_, _)) =
            (store.lookup("/a", now), store.lookup("/b", now))
        else {
            panic!("two leaders");
        };
        assert!(matches!(store.lookup("/c", now), Lookup::Full));
        assert!(matches!(store.lookup("/a", now), Lookup::Wait(_)));
        store.end("/a", a);
        assert!(matches!(store.lookup("/c", now), Lookup::Lead(..)));
        assert_eq!(store.slots.len(), 2);
    }

    #[test]
    fn only_the_flight_that_holds_a_slot_may_fill_or_end_it() {
        let mut store = Store::new(4, usize::MAX);
        let now = Instant::now();
        let Lookup::Lead(first, _) = store.lookup("/a", now) else {
            panic!("a leader");
        };
        store.end("/a", first);
        let Lookup::Lead(second, _) = store.lookup("/a", now) else {
            panic!("a new leader");
        };
        // The first flight, ending late, neither fills nor removes the second's slot.
        store.keep("/a", first, entry("stale", now + TTL));
        store.end("/a", first);
        assert!(matches!(store.lookup("/a", now), Lookup::Wait(_)));
        store.keep("/a", second, entry("fresh", now + TTL));
        match store.lookup("/a", now) {
            Lookup::Hit(kept) => assert_eq!(kept.body, "fresh"),
            other => panic!("expected a hit, got {other:?}"),
        }
    }

    #[test]
    fn kept_bytes_stay_within_their_budget() {
        // Each entry: a 2-byte key and a 4-byte body.
        let mut store = Store::new(100, 15);
        let now = Instant::now();
        for key in ["/a", "/b", "/c", "/d"] {
            assert!(fill(&mut store, key, "body", now));
            assert!(store.bytes <= 15, "{} bytes", store.bytes);
        }
        assert_eq!(store.bytes, 12);
        assert!(!is_hit(&mut store, "/a", now));
        assert!(is_hit(&mut store, "/d", now));
    }
}
