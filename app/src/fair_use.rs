//! The API's fair-use limits, built from `[fair_use]` (see `balados_platform::fair_use`).

use balados_auth::TokenVerifier;
use balados_platform::fair_use::{AddressLimit, Budget, LimitedVerifier, RateLimiter};
use balados_platform::metrics::Metrics;
use balados_platform::settings::FairUseSettings;
use std::sync::Arc;

#[derive(Debug)]
pub struct Limits {
    writes: Arc<Budget>,
    reads: Arc<Budget>,
    pub anonymous: AddressLimit,
    metrics: Metrics,
}

impl Limits {
    pub fn new(settings: &FairUseSettings, metrics: &Metrics) -> Self {
        let keys = settings.max_tracked_keys;
        let budget = |name,
                      users: balados_platform::settings::RateSetting,
                      apps: balados_platform::settings::RateSetting| {
            Arc::new(Budget {
                name,
                users: RateLimiter::new(users.rate(), keys),
                apps: RateLimiter::new(apps.rate(), keys),
            })
        };
        Self {
            writes: budget("writes", settings.user_writes, settings.app_writes),
            reads: budget("reads", settings.user_reads, settings.app_reads),
            anonymous: AddressLimit {
                limiter: Arc::new(RateLimiter::new(settings.address_anonymous.rate(), keys)),
                logins: Arc::new(RateLimiter::new(settings.address_logins.rate(), keys)),
                metrics: metrics.clone(),
            },
            metrics: metrics.clone(),
        }
    }

    /// `verifier`, admitting callers within the writes budget (the ingest's).
    pub fn for_writes(&self, verifier: Arc<dyn TokenVerifier>) -> Arc<dyn TokenVerifier> {
        Arc::new(LimitedVerifier::new(
            verifier,
            self.writes.clone(),
            self.metrics.clone(),
        ))
    }

    /// The writes budget, for the routes that write many commands per request.
    pub fn writes(&self) -> Arc<Budget> {
        self.writes.clone()
    }

    /// The reads budget, for the readers without a token (gpodder, the pages).
    pub fn reads(&self) -> Arc<Budget> {
        self.reads.clone()
    }

    /// `verifier`, admitting callers within the reads budget (the query API's).
    pub fn for_reads(&self, verifier: Arc<dyn TokenVerifier>) -> Arc<dyn TokenVerifier> {
        Arc::new(LimitedVerifier::new(
            verifier,
            self.reads.clone(),
            self.metrics.clone(),
        ))
    }
}
