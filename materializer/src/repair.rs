//! Repairing one user (`balados admin repair-user`): their per-user read models are rebuilt from
//! their latest state records on `user-state` — the aggregate's own truth, which the missing events
//! had carried — and their projection positions set to the records' sequence, which releases a
//! user held at a sequence gap. It can run while the materializers run: it locks the user's
//! position row as a batch does, so the two serialise.
//!
//! What the lost events would have added to the public models (public events, popularity) is not
//! recovered: only the events carry it.

use crate::rebuild::{PER_USER_TABLES, Reader, Report, from_records, latest_records};
use crate::sink::{self, to_i64};
use balados_platform::Settings;
use balados_schemas::{Codec, UserId};

#[derive(Debug)]
pub struct Repaired {
    pub state_records: u64,
    /// The sequence the user's models are now at.
    pub sequence: u64,
    /// The gap the user was held at: (last applied, found).
    pub gap: Option<(i64, i64)>,
}

pub async fn repair_user(
    settings: &Settings,
    pool: &sqlx::PgPool,
    codec: &Codec,
    user: &UserId,
) -> anyhow::Result<Repaired> {
    let reader = Reader::new(settings)?;
    let mut report = Report::default();
    let latest = latest_records(&reader, settings, codec, Some(user.as_str()), &mut report).await?;
    let snapshot = from_records(latest.into_values());
    let reached = snapshot
        .positions
        .get(user.as_str())
        .copied()
        .unwrap_or_default();
    let sequence = reached.per_user;

    let mut tx = pool.begin().await?;
    sqlx::query("SELECT 1 FROM materializer.user_sequences WHERE user_id = $1 FOR UPDATE")
        .bind(user.as_str())
        .execute(&mut *tx)
        .await?;
    for table in PER_USER_TABLES {
        // `table` is one of PER_USER_TABLES, never input.
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE user_id = $1"
        )))
        .bind(user.as_str())
        .execute(&mut *tx)
        .await?;
    }
    sink::per_user::write(&mut tx, &snapshot.per_user).await?;
    sink::lists::write(&mut tx, &snapshot.lists).await?;
    // Both projections continue after the records' sequence: the per-user one has it all, the
    // public one cannot get the lost events back.
    sqlx::query(
        "INSERT INTO materializer.user_sequences AS t (user_id, last_sequence, public_sequence, last_position)
         VALUES ($1, $2, $2, $3)
         ON CONFLICT (user_id) DO UPDATE SET last_sequence = EXCLUDED.last_sequence,
             public_sequence = GREATEST(t.public_sequence, EXCLUDED.public_sequence),
             last_position = GREATEST(t.last_position, EXCLUDED.last_position)",
    )
    .bind(user.as_str())
    .bind(to_i64(sequence))
    .bind(reached.sync)
    .execute(&mut *tx)
    .await?;
    let gap: Option<(i64, i64)> = sqlx::query_as(
        "DELETE FROM materializer.sequence_gaps WHERE user_id = $1 RETURNING applied, found",
    )
    .bind(user.as_str())
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Repaired {
        state_records: report.state_records,
        sequence,
        gap,
    })
}
