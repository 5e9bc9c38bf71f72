//! A producer that is replaced when it becomes unusable.
//!
//! librdkafka reports some errors as fatal: the producer instance can never send again (an
//! idempotent producer fenced, or whose sequence state the broker lost, e.g. after the broker's
//! storage restarted). Retrying with the same instance fails for ever, so the first caller that
//! meets a fatal error replaces it; callers in flight keep the old one until they finish.

use rdkafka::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::producer::{FutureProducer, Producer as _};
use std::sync::{Arc, RwLock};

pub struct RenewableProducer {
    config: ClientConfig,
    current: RwLock<Arc<FutureProducer>>,
}

impl std::fmt::Debug for RenewableProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RenewableProducer").finish_non_exhaustive()
    }
}

impl RenewableProducer {
    pub fn new(config: ClientConfig) -> Result<Self, KafkaError> {
        let producer: FutureProducer = config.create()?;
        Ok(Self {
            config,
            current: RwLock::new(Arc::new(producer)),
        })
    }

    /// The producer to send with now.
    pub fn get(&self) -> Arc<FutureProducer> {
        self.current
            .read()
            .map_or_else(|e| e.into_inner().clone(), |p| p.clone())
    }

    /// Called after `used` failed: replaces it when it is in a fatal state (once, whatever the
    /// number of callers that saw it fail). Returns whether a new producer was made.
    pub fn renew_if_fatal(&self, used: &Arc<FutureProducer>) -> bool {
        let Some((code, reason)) = used.client().fatal_error() else {
            return false;
        };
        let Ok(mut current) = self.current.write() else {
            return false;
        };
        if !Arc::ptr_eq(&current, used) {
            return false; // another caller replaced it already
        }
        match self.config.create::<FutureProducer>() {
            Ok(fresh) => {
                tracing::warn!(error.code = ?code, error = %reason, "producer in a fatal state; replaced by a new one");
                *current = Arc::new(fresh);
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "producer in a fatal state, and a new one could not be made; trying again on the next failure");
                false
            }
        }
    }
}
