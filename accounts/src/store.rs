//! The accounts' table (`accounts.users`), created idempotently at start — not through
//! `sqlx::migrate!`, whose one history table the read models' migrations already use — and the
//! operations on it: create, look up, log in (with lock-out), list, disable.

use crate::password::{Password, PasswordHash};
use crate::username::Username;
use chrono::{DateTime, TimeDelta, Utc};
use sqlx::PgPool;

const LOCK: &str = "SELECT pg_advisory_xact_lock(hashtext('balados.accounts.migrate'))";

const DDL: &str = r#"
CREATE SCHEMA IF NOT EXISTS accounts;
CREATE TABLE IF NOT EXISTS accounts.users (
    -- The pipeline's user id: stable, never changed, what the topics and read models key on.
    user_id       text        PRIMARY KEY,
    -- As chosen (shown); `username_key` (lower case) makes it unique whatever the case.
    username      text        NOT NULL,
    username_key  text        NOT NULL UNIQUE,
    password_hash text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    disabled_at   timestamptz,
    -- Failed log-ins in a row, and until when further attempts are refused.
    failed_logins integer     NOT NULL DEFAULT 0,
    locked_until  timestamptz
);
"#;

/// Failed log-ins allowed before the account locks; each one after doubles the lock (1 minute,
/// 2, 4, … at most a day).
pub const FREE_ATTEMPTS: i32 = 5;
const MAX_LOCK: TimeDelta = TimeDelta::days(1);

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("the username is taken")]
    UsernameTaken,
    #[error("the user id is taken")]
    IdTaken,
    #[error("no such account")]
    NotFound,
    /// Unknown user or wrong password: one answer, so that a caller cannot tell which.
    #[error("wrong username or password")]
    WrongCredentials,
    #[error("too many failed log-ins: try again after {0}")]
    Locked(DateTime<Utc>),
    #[error("the account is disabled")]
    Disabled,
    #[error("hashing the password failed")]
    Hash,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Account {
    pub user_id: String,
    pub username: String,
    pub created_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
}

/// A row as a log-in reads it.
#[derive(sqlx::FromRow)]
struct Stored {
    user_id: String,
    username: String,
    password_hash: String,
    created_at: DateTime<Utc>,
    disabled_at: Option<DateTime<Utc>>,
    failed_logins: i32,
    locked_until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct Accounts {
    pool: PgPool,
}

impl Accounts {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Creates the table if missing (safe at every start, from several processes at once).
    pub async fn migrate(&self) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        // "already exists, skipping" at every start is no news.
        sqlx::query("SET LOCAL client_min_messages = warning")
            .execute(&mut *tx)
            .await?;
        sqlx::query(LOCK).execute(&mut *tx).await?;
        sqlx::raw_sql(DDL).execute(&mut *tx).await?;
        sqlx::raw_sql(crate::app_passwords::DDL)
            .execute(&mut *tx)
            .await?;
        for ddl in [
            crate::authorizations::DDL,
            crate::sessions::DDL,
            crate::play_tokens::DDL,
            crate::login_flows::DDL,
        ] {
            sqlx::raw_sql(ddl).execute(&mut *tx).await?;
        }
        tx.commit().await
    }

    /// A new account. Its user id is `id` when given (an account for data that already exists
    /// under that id), else a new UUID.
    pub async fn create(
        &self,
        username: &Username,
        password: &Password,
        id: Option<&str>,
    ) -> Result<Account, AccountError> {
        let hash = password.hash().map_err(|_| AccountError::Hash)?;
        let user_id = id.map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
        let inserted = sqlx::query_as::<_, Account>(
            "INSERT INTO accounts.users (user_id, username, username_key, password_hash)
             VALUES ($1, $2, $3, $4)
             RETURNING user_id, username, created_at, disabled_at",
        )
        .bind(&user_id)
        .bind(username.as_str())
        .bind(username.key())
        .bind(&hash.0)
        .fetch_one(&self.pool)
        .await;
        inserted.map_err(
            |e| match e.as_database_error().and_then(|d| d.constraint()) {
                Some("users_username_key_key") => AccountError::UsernameTaken,
                Some("users_pkey") => AccountError::IdTaken,
                _ => AccountError::Database(e),
            },
        )
    }

    pub async fn find(&self, username: &Username) -> Result<Account, AccountError> {
        sqlx::query_as::<_, Account>(
            "SELECT user_id, username, created_at, disabled_at FROM accounts.users
             WHERE username_key = $1",
        )
        .bind(username.key())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(AccountError::NotFound)
    }

    /// Checks a log-in at `now`: the account when the password is right; a wrong one counts, and
    /// past [`FREE_ATTEMPTS`] the account locks for a time that doubles with each failure.
    pub async fn log_in(
        &self,
        username: &str,
        attempt: &str,
        now: DateTime<Utc>,
    ) -> Result<Account, AccountError> {
        let key = username.to_ascii_lowercase();
        let row: Option<Stored> = sqlx::query_as(
            "SELECT user_id, username, password_hash, created_at, disabled_at, failed_logins, locked_until
             FROM accounts.users WHERE username_key = $1",
        )
        .bind(&key)
        .fetch_optional(&self.pool)
        .await?;
        let Some(Stored {
            user_id,
            username: shown,
            password_hash: hash,
            created_at,
            disabled_at,
            failed_logins: failed,
            locked_until,
        }) = row
        else {
            // The same work as for a known user, so that timing does not tell them apart.
            let _ = dummy_hash().verifies(attempt);
            return Err(AccountError::WrongCredentials);
        };
        if let Some(until) = locked_until.filter(|until| *until > now) {
            return Err(AccountError::Locked(until));
        }
        if !PasswordHash(hash).verifies(attempt) {
            let failed = failed.saturating_add(1);
            let lock = lock_after(failed).map(|d| now + d);
            sqlx::query(
                "UPDATE accounts.users SET failed_logins = $2, locked_until = $3 WHERE user_id = $1",
            )
            .bind(&user_id)
            .bind(failed)
            .bind(lock)
            .execute(&self.pool)
            .await?;
            return Err(match lock {
                Some(until) => AccountError::Locked(until),
                None => AccountError::WrongCredentials,
            });
        }
        if disabled_at.is_some() {
            return Err(AccountError::Disabled);
        }
        if failed > 0 {
            sqlx::query(
                "UPDATE accounts.users SET failed_logins = 0, locked_until = NULL WHERE user_id = $1",
            )
            .bind(&user_id)
            .execute(&self.pool)
            .await?;
        }
        Ok(Account {
            user_id,
            username: shown,
            created_at,
            disabled_at,
        })
    }

    pub async fn list(&self) -> Result<Vec<Account>, AccountError> {
        Ok(sqlx::query_as::<_, Account>(
            "SELECT user_id, username, created_at, disabled_at FROM accounts.users
             ORDER BY username_key",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn disable(&self, username: &Username) -> Result<(), AccountError> {
        self.set_disabled(username, true).await
    }

    /// Undoes [`Accounts::disable`]: the account logs in again (its app passwords too).
    pub async fn enable(&self, username: &Username) -> Result<(), AccountError> {
        self.set_disabled(username, false).await
    }

    /// Disabled since the first time it was (disabling twice keeps that time), or enabled.
    async fn set_disabled(&self, username: &Username, disabled: bool) -> Result<(), AccountError> {
        let done = sqlx::query(
            "UPDATE accounts.users
             SET disabled_at = CASE WHEN $2 THEN coalesce(disabled_at, now()) END
             WHERE username_key = $1",
        )
        .bind(username.key())
        .bind(disabled)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(AccountError::NotFound);
        }
        Ok(())
    }
}

/// The lock after `failed` failures in a row: none within the free attempts, then 1 minute,
/// doubling, at most [`MAX_LOCK`].
pub fn lock_after(failed: i32) -> Option<TimeDelta> {
    let beyond = failed - FREE_ATTEMPTS;
    if beyond < 0 {
        return None;
    }
    let minutes = 1i64
        .checked_shl(u32::try_from(beyond).unwrap_or(u32::MAX))
        .unwrap_or(i64::MAX);
    Some(TimeDelta::try_minutes(minutes).map_or(MAX_LOCK, |d| d.min(MAX_LOCK)))
}

/// A hash of a password nobody knows (made once per process), verified for unknown users.
fn dummy_hash() -> &'static PasswordHash {
    static DUMMY: std::sync::OnceLock<PasswordHash> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        let mut secret = [0u8; 24];
        let _ = getrandom::getrandom(&mut secret);
        let text: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        Password::choose(&text, "")
            .ok()
            .and_then(|p| p.hash().ok())
            .unwrap_or_else(|| PasswordHash(String::new()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_doubles_after_the_free_attempts_and_is_bounded() {
        assert_eq!(lock_after(FREE_ATTEMPTS - 1), None);
        assert_eq!(lock_after(FREE_ATTEMPTS), Some(TimeDelta::minutes(1)));
        assert_eq!(lock_after(FREE_ATTEMPTS + 3), Some(TimeDelta::minutes(8)));
        assert_eq!(lock_after(FREE_ATTEMPTS + 20), Some(MAX_LOCK));
        assert_eq!(lock_after(i32::MAX), Some(MAX_LOCK));
    }

    #[test]
    fn an_unknown_user_costs_a_real_verification() {
        let dummy = dummy_hash();
        assert!(
            dummy.0.starts_with("$argon2id$"),
            "a real hash: {}",
            dummy.0
        );
        assert!(!dummy.verifies(""));
    }
}
