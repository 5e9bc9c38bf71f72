//! A cache of verified tokens, so that the hot path does not pay an RSA verification per request:
//! apps reuse one token for many requests. Keyed by the SHA-256 of the token (never the token
//! itself), each entry kept until the token's own expiry at most, the table bounded.

use crate::{AuthError, Caller, TokenVerifier};
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Verifies with `inner` the first time a token is seen, then answers from memory until the token
/// expires.
#[derive(Debug)]
pub struct CachedVerifier {
    inner: Arc<dyn TokenVerifier>,
    entries: Mutex<HashMap<[u8; 32], Caller>>,
    capacity: usize,
}

impl CachedVerifier {
    pub fn new(inner: Arc<dyn TokenVerifier>, capacity: usize) -> Self {
        Self {
            inner,
            entries: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    fn verify_at(&self, token: &str, now: i64) -> Result<Caller, AuthError> {
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let remembered = self
            .entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .filter(|c| c.expires_at > now)
            .cloned();
        // A remembered verification stands only while the grant behind it does (a revoked app is
        // refused at once, whatever its tokens' expiry).
        if let Some(caller) = remembered.and_then(|c| self.inner.revalidate(&c)) {
            return Ok(caller);
        }
        // Failures are not cached: a refused token costs its verification each time (the rate
        // limits bound how often).
        let caller = self.inner.verify(token)?;
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.capacity {
            entries.retain(|_, c| c.expires_at > now);
            if entries.len() >= self.capacity {
                // Still full of live tokens: start afresh rather than grow.
                entries.clear();
            }
        }
        entries.insert(key, caller.clone());
        Ok(caller)
    }

    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl TokenVerifier for CachedVerifier {
    fn verify(&self, token: &str) -> Result<Caller, AuthError> {
        self.verify_at(token, chrono::Utc::now().timestamp())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scopes;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Accepts tokens named "ok:{exp}", counting verifications, until revoked.
    #[derive(Debug, Default)]
    struct Counting(AtomicUsize, std::sync::atomic::AtomicBool);

    impl TokenVerifier for Counting {
        fn verify(&self, token: &str) -> Result<Caller, AuthError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            if self.1.load(Ordering::SeqCst) {
                return Err(AuthError::BadSignature);
            }
            let exp = token
                .strip_prefix("ok:")
                .and_then(|e| e.parse().ok())
                .ok_or(AuthError::BadSignature)?;
            Ok(Caller {
                user_id: "u".into(),
                app_id: "a".into(),
                device_id: None,
                device_name: None,
                scopes: Scopes::everything(),
                expires_at: exp,
                grant_version: None,
            })
        }

        fn revalidate(&self, remembered: &Caller) -> Option<Caller> {
            (!self.1.load(Ordering::SeqCst)).then(|| remembered.clone())
        }
    }

    #[test]
    fn a_revocation_ends_a_remembered_verification_at_once() {
        let inner = Arc::new(Counting::default());
        let cache = CachedVerifier::new(inner.clone(), 10);
        assert!(cache.verify_at("ok:100", 50).is_ok());
        inner.1.store(true, Ordering::SeqCst);
        assert_eq!(cache.verify_at("ok:100", 51), Err(AuthError::BadSignature));
    }

    #[test]
    fn a_token_is_verified_once_until_it_expires_and_refusals_are_not_kept() {
        let inner = Arc::new(Counting::default());
        let cache = CachedVerifier::new(inner.clone(), 10);
        for _ in 0..5 {
            assert!(cache.verify_at("ok:100", 50).is_ok());
        }
        assert_eq!(inner.0.load(Ordering::SeqCst), 1, "verified once");
        // At its expiry the cache no longer answers: the inner verifier decides again.
        let _ = cache.verify_at("ok:100", 100);
        assert_eq!(inner.0.load(Ordering::SeqCst), 2);
        for _ in 0..3 {
            assert_eq!(cache.verify_at("forged", 50), Err(AuthError::BadSignature));
        }
        assert_eq!(inner.0.load(Ordering::SeqCst), 5, "each refusal verified");
    }

    #[test]
    fn the_table_is_bounded() {
        let cache = CachedVerifier::new(Arc::new(Counting::default()), 4);
        for n in 0..100 {
            assert!(cache.verify_at(&format!("ok:{}", 1_000 + n), 0).is_ok());
            assert!(cache.len() <= 4);
        }
    }
}
