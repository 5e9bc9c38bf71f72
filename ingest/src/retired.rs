//! Writes stop once this instance's topics are retired by a partition growth (`balados admin
//! partitions grow`, which copies the users' commands, events and state to the topics of a
//! successor prefix with more partitions). A command produced to a retired topic would be read by
//! no one: it is refused instead (503, retry), until the instance restarts with the successor's
//! settings. The retirement is read from PostgreSQL every half second; an instance that has not
//! read it lately refuses writes too, since it could have missed one. The growth waits out these
//! bounds (`balados_platform::retirement`) before it copies anything.

use crate::producer::{CommandSink, ProduceError};
use balados_platform::retirement::{POLL, STALE_AFTER, retirement_of};
use balados_schemas::CommandEnvelope;
use sqlx::PgPool;
use std::sync::{Arc, RwLock};
use std::time::Instant;

/// What the watcher last read: the successor, if retired, and when it read it.
#[derive(Debug, Default)]
struct Seen {
    successor: Option<String>,
    read_at: Option<Instant>,
}

/// A command sink that refuses every command once its topics are retired, or while it cannot
/// tell whether they are.
#[derive(Debug)]
pub struct Retiring<S> {
    inner: S,
    seen: Arc<RwLock<Seen>>,
}

impl<S: CommandSink> Retiring<S> {
    /// Wraps `inner` and follows the retirement of `prefix` until `stop` ends, having read it once
    /// (so that a start with PostgreSQL at hand takes writes at once).
    pub async fn watch(
        inner: S,
        pool: PgPool,
        prefix: String,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Self {
        let first = read(&pool, &prefix).await.ok().map(|successor| Seen {
            successor,
            read_at: Some(Instant::now()),
        });
        let seen = Arc::new(RwLock::new(first.unwrap_or_default()));
        let shared = seen.clone();
        tokio::spawn(async move {
            let follow = async {
                loop {
                    match read(&pool, &prefix).await {
                        Ok(found) => {
                            if let Ok(mut seen) = shared.write() {
                                if seen.read_at.is_some() && seen.successor != found {
                                    announce(&prefix, found.as_deref());
                                }
                                seen.successor = found;
                                seen.read_at = Some(Instant::now());
                            }
                        }
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
        Self { inner, seen }
    }

    fn refusal(&self) -> Option<ProduceError> {
        self.seen.read().ok().and_then(|seen| refusal(&seen))
    }
}

/// Why a command must be refused now, if it must: the topics are retired, or whether they are
/// was not read lately.
fn refusal(seen: &Seen) -> Option<ProduceError> {
    if let Some(successor) = &seen.successor {
        return Some(ProduceError::Retired {
            successor: successor.clone(),
        });
    }
    let fresh = seen.read_at.is_some_and(|at| at.elapsed() < STALE_AFTER);
    (!fresh).then_some(ProduceError::RetirementUnknown)
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
    Ok(retirement_of(pool, prefix)
        .await?
        .map(|(successor, _)| successor))
}

impl<S: CommandSink> CommandSink for Retiring<S> {
    fn send<'a>(
        &'a self,
        command: &'a CommandEnvelope,
    ) -> futures::future::BoxFuture<'a, Result<(), ProduceError>> {
        match self.refusal() {
            Some(refused) => Box::pin(async move { Err(refused) }),
            None => self.inner.send(command),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn writes_pass_only_while_the_topics_are_known_not_retired() {
        let now = Instant::now();
        let fresh = Seen {
            successor: None,
            read_at: Some(now),
        };
        assert!(refusal(&fresh).is_none());
        let never_read = Seen::default();
        assert!(matches!(
            refusal(&never_read),
            Some(ProduceError::RetirementUnknown)
        ));
        let stale = Seen {
            successor: None,
            read_at: now.checked_sub(STALE_AFTER + Duration::from_secs(1)),
        };
        assert!(matches!(
            refusal(&stale),
            Some(ProduceError::RetirementUnknown)
        ));
        let retired = Seen {
            successor: Some("next".into()),
            read_at: Some(now),
        };
        assert!(matches!(
            refusal(&retired),
            Some(ProduceError::Retired { successor }) if successor == "next"
        ));
    }
}
