//! Outcome rows and popularity keys past their retention are pruned, the others kept (against
//! the real PostgreSQL, with the read models' own migrations).

use crate::helpers::read_model_database;
use balados_materializer::prune::{POPULARITY_KEY_DAYS, Pruned, Retention, once};
use std::time::Duration;

#[tokio::test]
async fn rows_past_their_retention_are_pruned_and_the_others_kept() {
    let pool = read_model_database().await;
    // 12,000 old outcomes (more than one chunk) and 3 recent ones.
    sqlx::query(
        "INSERT INTO users.command_outcomes (command_id, user_id, first_sequence, event_count,
             events_partition, events_next_offset, recorded_at)
         SELECT gen_random_uuid(), 'u', 1, 1, 0, 1,
                now() - CASE WHEN n <= 12000 THEN interval '3 days' ELSE interval '1 minute' END
         FROM generate_series(1, 12003) AS n",
    )
    .execute(&pool)
    .await
    .expect("outcomes");
    sqlx::query(
        "INSERT INTO site.popularity_counted (user_id, day, kind, target_hash)
         SELECT 'u', current_date - d, 'play', decode(md5(d::text), 'hex')
         FROM generate_series(0, $1 + 5) AS d",
    )
    .bind(POPULARITY_KEY_DAYS)
    .execute(&pool)
    .await
    .expect("keys");
    let retention = Retention {
        outcomes: Duration::from_secs(24 * 3600),
        every: Duration::from_secs(3600),
    };
    let pruned = once(&pool, retention).await.expect("prune");
    assert_eq!(
        pruned,
        Pruned {
            outcomes: 12_000,
            popularity_keys: 5,
        }
    );
    let (outcomes,): (i64,) = sqlx::query_as("SELECT count(*) FROM users.command_outcomes")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(outcomes, 3);
    assert_eq!(
        once(&pool, retention).await.expect("prune"),
        Pruned::default()
    );
    pool.close().await;
}
