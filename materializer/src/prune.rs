//! Pruning on a schedule, so that tables fed by every request do not grow for ever: command
//! outcomes past their retention (`GET /api/v1/commands/{id}` answers 404 for them, as for an
//! unknown command), and popularity keys past the longest window (see `apply::public::CountKey`).
//! Rows go in chunks, each its own short transaction, so that pruning never holds locks long or
//! competes with the batches for more than a moment.

use balados_platform::metrics::Metrics;
use sqlx::PgPool;
use std::time::Duration;
use tokio::sync::watch;

/// Rows deleted per statement.
const CHUNK: i64 = 5_000;
/// The popularity keys are needed for the longest window (30 days) and the grace period of a
/// late event (48 hours by default): kept 33 days.
pub const POPULARITY_KEY_DAYS: i32 = 33;

#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub outcomes: Duration,
    pub every: Duration,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    pub outcomes: u64,
    pub popularity_keys: u64,
}

/// Prunes once now, then every `retention.every`, until `shutdown`.
pub async fn run(
    pool: PgPool,
    retention: Retention,
    metrics: Metrics,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    loop {
        match once(&pool, retention).await {
            Ok(pruned) => {
                for (table, rows) in [
                    ("command_outcomes", pruned.outcomes),
                    ("popularity_counted", pruned.popularity_keys),
                ] {
                    metrics.add(
                        "balados_materializer_pruned_rows_total",
                        "Rows deleted past their retention.",
                        &[("table", table)],
                        rows as f64,
                    );
                }
                if pruned != Pruned::default() {
                    tracing::info!(
                        prune.outcomes = pruned.outcomes,
                        prune.popularity_keys = pruned.popularity_keys,
                        "pruned rows past their retention"
                    );
                }
            }
            // The next round tries again; nothing is lost by waiting.
            Err(e) => tracing::warn!(error = %e, "pruning failed; retrying at the next round"),
        }
        tokio::select! {
            () = tokio::time::sleep(retention.every) => {}
            _ = shutdown.changed() => return Ok(()),
        }
    }
}

/// Deletes what is past its retention, chunk by chunk.
pub async fn once(pool: &PgPool, retention: Retention) -> Result<Pruned, sqlx::Error> {
    let seconds = retention.outcomes.as_secs_f64();
    let outcomes = chunks(
        pool,
        "DELETE FROM users.command_outcomes WHERE command_id IN (
             SELECT command_id FROM users.command_outcomes
             WHERE recorded_at < now() - make_interval(secs => $1) LIMIT $2)",
        |q| q.bind(seconds),
    )
    .await?;
    let popularity_keys = chunks(
        pool,
        "DELETE FROM site.popularity_counted WHERE (user_id, day, kind, target_hash) IN (
             SELECT user_id, day, kind, target_hash FROM site.popularity_counted
             WHERE day < current_date - $1::int LIMIT $2)",
        |q| q.bind(POPULARITY_KEY_DAYS),
    )
    .await?;
    Ok(Pruned {
        outcomes,
        popularity_keys,
    })
}

type Query<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

async fn chunks(
    pool: &PgPool,
    statement: &'static str,
    bind: impl for<'q> Fn(Query<'q>) -> Query<'q>,
) -> Result<u64, sqlx::Error> {
    let mut total = 0;
    loop {
        let deleted = bind(sqlx::query(statement))
            .bind(CHUNK)
            .execute(pool)
            .await?
            .rows_affected();
        total += deleted;
        if deleted < CHUNK as u64 {
            return Ok(total);
        }
    }
}
