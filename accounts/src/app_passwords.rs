//! App passwords: what a podcast app speaking the gpodder.net or Nextcloud protocols logs in with,
//! never the account's password. Random (256 bits), shown once, stored as a SHA-256 digest: with
//! that much entropy a digest cannot be searched, and checking one costs microseconds — these
//! protocols send the password with every request, where Argon2 would cost tens of milliseconds.

use crate::secret::{digest, random_secret};
use chrono::{DateTime, Utc};
use sqlx::PgPool;

pub(crate) const DDL: &str = r#"
CREATE TABLE IF NOT EXISTS accounts.app_passwords (
    id         uuid        PRIMARY KEY,
    user_id    text        NOT NULL REFERENCES accounts.users (user_id),
    name       text        NOT NULL,
    -- SHA-256 of the password, hex.
    digest     text        NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
CREATE INDEX IF NOT EXISTS app_passwords_user ON accounts.app_passwords (user_id);
"#;

/// Live (unrevoked) app passwords a user may hold at once, and play tokens too: bounds each
/// user's rows.
pub const MAX_LIVE: i64 = 100;

/// Names are what the user recognises the app by: 1 to 100 characters, one line.
pub const MAX_NAME_CHARS: usize = 100;

/// The user's unrevoked rows of `table` (one of the fixed names of this crate, never input).
pub(crate) async fn live(pool: &PgPool, table: &str, user_id: &str) -> Result<i64, sqlx::Error> {
    let sql =
        format!("SELECT count(*) FROM accounts.{table} WHERE user_id = $1 AND revoked_at IS NULL");
    let (count,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(user_id)
        .fetch_one(pool)
        .await?;
    Ok(count)
}

/// A name as the user gave it for a secret (app password, play token), trimmed; `None` when empty,
/// longer than [`MAX_NAME_CHARS`] or not on one line.
pub(crate) fn shown_name(name: &str) -> Option<&str> {
    let name = name.trim();
    let fits = !name.is_empty()
        && name.chars().count() <= MAX_NAME_CHARS
        && !name.chars().any(char::is_control);
    fits.then_some(name)
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AppPassword {
    pub id: uuid::Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, thiserror::Error)]
pub enum AppPasswordError {
    #[error("an app password's name is 1 to {MAX_NAME_CHARS} characters on one line")]
    InvalidName,
    #[error("no such app password")]
    NotFound,
    #[error("at most {MAX_LIVE} app passwords at a time: revoke one first")]
    TooMany,
    #[error("no random bytes available")]
    Random,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// The app passwords of the accounts' database.
#[derive(Debug, Clone)]
pub struct AppPasswords {
    pool: PgPool,
}

impl AppPasswords {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// A new app password for `user_id`: its record, and the password itself (shown once).
    pub async fn create(
        &self,
        user_id: &str,
        name: &str,
    ) -> Result<(AppPassword, String), AppPasswordError> {
        let name = shown_name(name).ok_or(AppPasswordError::InvalidName)?;
        if live(&self.pool, "app_passwords", user_id).await? >= MAX_LIVE {
            return Err(AppPasswordError::TooMany);
        }
        let secret = random_secret("bal_").map_err(|_| AppPasswordError::Random)?;
        let record = sqlx::query_as::<_, AppPassword>(
            "INSERT INTO accounts.app_passwords (id, user_id, name, digest) VALUES ($1, $2, $3, $4)
             RETURNING id, name, created_at, revoked_at",
        )
        .bind(uuid::Uuid::new_v4())
        .bind(user_id)
        .bind(name)
        .bind(digest(&secret))
        .fetch_one(&self.pool)
        .await?;
        Ok((record, secret))
    }

    pub async fn list(&self, user_id: &str) -> Result<Vec<AppPassword>, AppPasswordError> {
        Ok(sqlx::query_as::<_, AppPassword>(
            "SELECT id, name, created_at, revoked_at FROM accounts.app_passwords
             WHERE user_id = $1 ORDER BY created_at, id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Revokes one of `user_id`'s app passwords (another user's is not found).
    pub async fn revoke(&self, user_id: &str, id: uuid::Uuid) -> Result<(), AppPasswordError> {
        let done = sqlx::query(
            "UPDATE accounts.app_passwords SET revoked_at = coalesce(revoked_at, now())
             WHERE id = $1 AND user_id = $2",
        )
        .bind(id)
        .bind(user_id)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(AppPasswordError::NotFound);
        }
        Ok(())
    }

    /// The user id a log-in with `username` and an app password is for; `None` when the password
    /// is unknown, revoked, another user's, or the account is disabled.
    pub async fn verify(
        &self,
        username: &str,
        secret: &str,
    ) -> Result<Option<String>, AppPasswordError> {
        Ok(self
            .verify_which(username, secret)
            .await?
            .map(|(user_id, _)| user_id))
    }

    /// As [`AppPasswords::verify`], with the id of the app password that matched (what a session
    /// it opens depends on: revoking the password ends them).
    pub async fn verify_which(
        &self,
        username: &str,
        secret: &str,
    ) -> Result<Option<(String, uuid::Uuid)>, AppPasswordError> {
        Ok(sqlx::query_as(
            "SELECT u.user_id, p.id FROM accounts.app_passwords p JOIN accounts.users u USING (user_id)
             WHERE p.digest = $1 AND p.revoked_at IS NULL
               AND u.username_key = $2 AND u.disabled_at IS NULL",
        )
        .bind(digest(secret))
        .bind(username.to_ascii_lowercase())
        .fetch_optional(&self.pool)
        .await?)
    }
}
