//! The bounds a partition growth relies on to know that no write is still on its way to the
//! topics it retires (`balados admin partitions grow`): how long the ingest may take to deliver an
//! accepted command, and how soon every instance learns of the retirement. One definition, used
//! by the ingest (its producer and its watcher) and by the growth (its wait).

use std::time::Duration;

/// How long the ingest waits for room in its producer's queue before refusing a command.
pub const COMMAND_QUEUE_WAIT: Duration = Duration::from_secs(5);
/// How long the ingest's producer may retry a command before giving up (`message.timeout.ms`).
pub const COMMAND_DELIVERY_TIMEOUT: Duration = Duration::from_secs(15);
/// How often every instance reads whether its topics are retired.
pub const POLL: Duration = Duration::from_millis(500);
/// An instance that has not read the retirement for this long refuses writes until it can: it
/// could have missed one (PostgreSQL unreachable), and a write it let through after the growth
/// copied its partition would be lost.
pub const STALE_AFTER: Duration = Duration::from_secs(10);

/// How long after a retirement a write accepted before it may still reach the retired topics:
/// learning of it at worst `STALE_AFTER` late, then queueing and delivering a command accepted
/// just before.
pub fn settle() -> Duration {
    STALE_AFTER + POLL + COMMAND_QUEUE_WAIT + COMMAND_DELIVERY_TIMEOUT + Duration::from_secs(1)
}

/// The prefix whose topics replaced `prefix`'s, if a growth retired them, and whether that growth
/// finished copying (`materializer.retired_topics`).
pub async fn retirement_of(
    pool: &sqlx::PgPool,
    prefix: &str,
) -> Result<Option<(String, bool)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT successor_prefix, completed_at IS NOT NULL FROM materializer.retired_topics
         WHERE topic_prefix = $1",
    )
    .bind(prefix)
    .fetch_optional(pool)
    .await
}
