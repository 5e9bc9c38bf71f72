//! Deleting every row of the users whose account a batch deleted (`AccountDeleted`), before the
//! batch's own rows are written (those of events after the deletion, a new life of the same id).
//!
//! Deleted here: the per-user models, the references to their public events, their command
//! outcomes, the popularity keys they counted, their positions and any sequence gap they were
//! held at. Their public events themselves are withdrawn by the fold (`apply::public`), which
//! takes their popularity points back and tells `public-events` (a tombstone per event, through
//! the outbox): by then the popularity numbers hold nothing of the user either.
//!
//! What stays: their records on `events` until the topic's retention (45 days) ages them out,
//! outcomes of their commands stored after this batch (pruned after
//! `materializer.outcome_retention_hours`), and any of their events set aside in
//! `materializer.quarantine` (kept for operators, keyed by position, not by user).

use crate::rebuild::PER_USER_TABLES;
use sqlx::{Postgres, Transaction};
use std::collections::BTreeSet;

/// The tables keyed by user beyond the per-user models.
const OTHER_TABLES: [&str; 5] = [
    "users.public_event_refs",
    "users.command_outcomes",
    "site.popularity_counted",
    "materializer.sequence_gaps",
    "materializer.user_sequences",
];

pub(crate) async fn delete_users(
    tx: &mut Transaction<'_, Postgres>,
    users: &BTreeSet<String>,
) -> Result<(), sqlx::Error> {
    if users.is_empty() {
        return Ok(());
    }
    let users: Vec<&str> = users.iter().map(String::as_str).collect();
    for table in PER_USER_TABLES.iter().chain(&OTHER_TABLES) {
        // `table` is one of the constants above, never input.
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE user_id = ANY($1)"
        )))
        .bind(&users)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
