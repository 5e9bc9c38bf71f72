//! Fair use: rate limits per verified user, per app and per client address, so that no caller can
//! take the service from the others. Each limit is a GCRA (generic cell rate algorithm: a token
//! bucket kept as one timestamp per key), in memory per instance; N instances behind a balancer
//! allow up to N times the rate, which the documented defaults account for.
//!
//! Memory is bounded: at most `max_keys` keys are tracked. A key whose bucket is full again is
//! the same as an absent one, so those are dropped first; if the table is still full of active
//! keys, a new key is admitted untracked (and counted) rather than refused: a flood of addresses
//! must not lock out the users behind new ones.

mod admission;

pub use admission::{ANONYMOUS_PREFIX, AddressLimit, Budget, LimitedVerifier, limit_by_address};
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A sustained rate and the burst allowed above it. A rate of 0 disables the limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    pub burst: u32,
}

impl Rate {
    pub fn is_disabled(self) -> bool {
        self.per_second <= 0.0
    }
}

/// What a check answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Allowed,
    /// Refused; the caller may retry after this long.
    Limited(Duration),
    /// Allowed without being counted: the table of keys was full.
    Untracked,
}

const SHARDS: usize = 16;

/// Rate limits for keys of type `K`.
#[derive(Debug)]
pub struct RateLimiter<K> {
    /// Nanoseconds between two requests at the sustained rate.
    interval: u64,
    /// How far ahead of now a key's theoretical arrival time may run: the burst.
    tolerance: u64,
    per_shard: usize,
    start: Instant,
    hasher: std::collections::hash_map::RandomState,
    /// Per key, its theoretical arrival time, in nanoseconds since `start`.
    shards: [Mutex<HashMap<K, u64>>; SHARDS],
    disabled: bool,
}

impl<K: Hash + Eq> RateLimiter<K> {
    pub fn new(rate: Rate, max_keys: usize) -> Self {
        let interval = if rate.is_disabled() {
            0
        } else {
            (1e9 / rate.per_second).ceil() as u64
        };
        Self {
            interval,
            tolerance: interval.saturating_mul(u64::from(rate.burst.max(1))),
            per_shard: max_keys.div_ceil(SHARDS).max(1),
            start: Instant::now(),
            hasher: Default::default(),
            shards: std::array::from_fn(|_| Mutex::new(HashMap::new())),
            disabled: rate.is_disabled(),
        }
    }

    /// Counts one request of `key` now.
    pub fn check(&self, key: K) -> Admission {
        let now = u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.check_at(key, now)
    }

    /// Counts one request of `key` at `now` (nanoseconds since the limiter's start).
    pub fn check_at(&self, key: K, now: u64) -> Admission {
        self.charge_at(key, 1, now)
    }

    /// Counts `cells` requests of `key` at once (a batch of that many commands).
    pub fn charge(&self, key: K, cells: u64) -> Admission {
        let now = u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.charge_at(key, cells, now)
    }

    /// Admitted when one cell fits the burst now; then all `cells` are charged, so that a batch
    /// larger than the burst goes through once and its key waits until it has been paid for.
    pub fn charge_at(&self, key: K, cells: u64, now: u64) -> Admission {
        if self.disabled || cells == 0 {
            return Admission::Allowed;
        }
        let shard = &self.shards[(self.hasher.hash_one(&key) as usize) % SHARDS];
        let mut table = shard.lock().unwrap_or_else(|e| e.into_inner());
        let tat = table.get(&key).copied().unwrap_or(now).max(now);
        // Allowed while the arrival time, one interval later, stays within the burst of now.
        let limit = now.saturating_add(self.tolerance);
        let first = tat.saturating_add(self.interval);
        if first > limit {
            return Admission::Limited(Duration::from_nanos(first - limit));
        }
        let next = tat.saturating_add(self.interval.saturating_mul(cells));
        if !table.contains_key(&key) && table.len() >= self.per_shard {
            table.retain(|_, tat| *tat > now);
            if table.len() >= self.per_shard {
                return Admission::Untracked;
            }
        }
        table.insert(key, next);
        Admission::Allowed
    }

    /// Keys tracked now (for the metrics and the tests).
    pub fn tracked(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).len())
            .sum()
    }
}

#[cfg(test)]
mod tests;
