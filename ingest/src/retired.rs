//! Writes stop once this instance's topics are retired by a partition growth (`balados admin
//! partitions grow`, which copies the users' commands, events and state to the topics of a
//! successor prefix with more partitions). A command produced to a retired topic would be read by
//! no one: it is refused instead (503, retry), until the instance restarts with the successor's
//! settings. The retirement is read from PostgreSQL every half second, so every instance stops
//! within a second of it; the growth waits out that second and the producers' delivery timeout
//! before it copies anything.

use crate::producer::{CommandSink, ProduceError};
use balados_schemas::CommandEnvelope;
use sqlx::PgPool;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// How often the retirement is read.
pub const POLL: Duration = Duration::from_millis(500);

/// A command sink that refuses every command once its topics are retired.
#[derive(Debug)]
pub struct Retiring<S> {
    inner: S,
    successor: Arc<RwLock<Option<String>>>,
}

impl<S: CommandSink> Retiring<S> {
    /// Wraps `inner` and follows the retirement of `prefix` until `stop` ends.
    pub fn watch(
        inner: S,
        pool: PgPool,
        prefix: String,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Self {
        let successor = Arc::new(RwLock::new(None));
        let shared = successor.clone();
        tokio::spawn(async move {
            let follow = async {
                loop {
                    match read(&pool, &prefix).await {
                        Ok(found) => {
                            if let Ok(mut current) = shared.write() {
                                if *current != found {
                                    announce(&prefix, found.as_deref());
                                }
                                *current = found;
                            }
                        }
                        // The last answer stands while PostgreSQL is away.
                        Err(e) => tracing::debug!(error = %e, "reading the retired topics"),
                    }
                    tokio::time::sleep(POLL).await;
                }
            };
            tokio::select! {
                () = follow => {}
                () = stop => {}
            }
        });
        Self { inner, successor }
    }

    fn retired(&self) -> Option<String> {
        self.successor.read().ok().and_then(|s| s.clone())
    }
}

fn announce(prefix: &str, successor: Option<&str>) {
    match successor {
        Some(next) => tracing::warn!(
            kafka.topic_prefix = %prefix,
            successor = %next,
            "topics retired by a partition growth: writes refused until this instance restarts \
             with the successor's settings"
        ),
        None => {
            tracing::info!(kafka.topic_prefix = %prefix, "topics no longer retired: writes taken again")
        }
    }
}

async fn read(pool: &PgPool, prefix: &str) -> Result<Option<String>, sqlx::Error> {
    let found: Option<(String,)> = sqlx::query_as(
        "SELECT successor_prefix FROM materializer.retired_topics WHERE topic_prefix = $1",
    )
    .bind(prefix)
    .fetch_optional(pool)
    .await?;
    Ok(found.map(|(s,)| s))
}

impl<S: CommandSink> CommandSink for Retiring<S> {
    fn send<'a>(
        &'a self,
        command: &'a CommandEnvelope,
    ) -> futures::future::BoxFuture<'a, Result<(), ProduceError>> {
        match self.retired() {
            Some(successor) => Box::pin(async move { Err(ProduceError::Retired { successor }) }),
            None => self.inner.send(command),
        }
    }
}
