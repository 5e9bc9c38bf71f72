//! `[fair_use]`: the rate limits of the API (see `crate::fair_use`).

use super::SettingsError;
use crate::fair_use::Rate;
use serde::Deserialize;

/// A sustained rate per second and a burst; `per_second = 0` turns the limit off.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct RateSetting {
    pub per_second: f64,
    pub burst: u32,
}

impl RateSetting {
    pub fn rate(self) -> Rate {
        Rate {
            per_second: self.per_second,
            burst: self.burst,
        }
    }
}

/// The slowest rate a limit may have (one request in about 17 minutes).
const MIN_PER_SECOND: f64 = 0.001;

#[derive(Debug, Clone, Deserialize)]
pub struct FairUseSettings {
    pub user_writes: RateSetting,
    pub user_reads: RateSetting,
    pub app_writes: RateSetting,
    pub app_reads: RateSetting,
    pub address_anonymous: RateSetting,
    /// Per client address, on the routes that check an account password (log-in, registration):
    /// each check costs an Argon2 hash, so a flood of them would take the CPU from everyone.
    pub address_logins: RateSetting,
    /// Keys (users, apps, addresses) each limiter tracks at most: what bounds its memory.
    pub max_tracked_keys: usize,
}

impl FairUseSettings {
    pub(super) fn validate(&self) -> Result<(), SettingsError> {
        let rates = [
            ("fair_use.user_writes", self.user_writes),
            ("fair_use.user_reads", self.user_reads),
            ("fair_use.app_writes", self.app_writes),
            ("fair_use.app_reads", self.app_reads),
            ("fair_use.address_anonymous", self.address_anonymous),
            ("fair_use.address_logins", self.address_logins),
        ];
        for (key, rate) in rates {
            let rate_ok = rate.per_second == 0.0
                || (rate.per_second.is_finite() && rate.per_second >= MIN_PER_SECOND);
            if !rate_ok {
                return Err(SettingsError::Invalid {
                    key,
                    reason: format!("per_second must be 0 (off) or at least {MIN_PER_SECOND}"),
                });
            }
            if rate.per_second > 0.0 && rate.burst == 0 {
                return Err(SettingsError::Invalid {
                    key,
                    reason: "burst must be at least 1".into(),
                });
            }
        }
        if self.max_tracked_keys == 0 {
            return Err(SettingsError::Invalid {
                key: "fair_use.max_tracked_keys",
                reason: "must be at least 1".into(),
            });
        }
        Ok(())
    }
}
