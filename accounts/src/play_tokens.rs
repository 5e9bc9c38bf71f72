//! Play tokens: what the play gateway's media links and the private feeds carry in their URLs,
//! where no app can sign a request and no password may appear. Random (256 bits, prefix `bpt_` for leak
//! scanners), opaque, shown once, stored as a SHA-256 digest (see [`crate::secret`]), named by
//! their user, and bounded in time: a URL gets copied into players and feed readers, so a leaked
//! one must stop working on its own, and its user can revoke it sooner.

use crate::secret::{digest, random_secret};
use chrono::{DateTime, TimeDelta, Utc};
use sqlx::PgPool;

pub(crate) const DDL: &str = r#"
CREATE TABLE IF NOT EXISTS accounts.play_tokens (
    id         uuid        PRIMARY KEY,
    user_id    text        NOT NULL REFERENCES accounts.users (user_id),
    name       text        NOT NULL,
    -- SHA-256 of the token, hex.
    digest     text        NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE INDEX IF NOT EXISTS play_tokens_user ON accounts.play_tokens (user_id);
"#;

/// What every play token starts with.
pub const PLAY_TOKEN_PREFIX: &str = "bpt_";

/// A play token's lifetime, in days, unless its user chooses another.
pub const DEFAULT_PLAY_TOKEN_DAYS: u32 = 365;

/// The longest lifetime a user may choose, in days (the shortest is one day).
pub const MAX_PLAY_TOKEN_DAYS: u32 = 3650;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PlayToken {
    pub id: uuid::Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, thiserror::Error)]
pub enum PlayTokenError {
    #[error(
        "a play token's name is 1 to {} characters on one line",
        crate::app_passwords::MAX_NAME_CHARS
    )]
    InvalidName,
    #[error("a play token lives 1 to {MAX_PLAY_TOKEN_DAYS} days")]
    InvalidLifetime,
    #[error("no such play token")]
    NotFound,
    #[error(
        "at most {} play tokens at a time: revoke one first",
        crate::app_passwords::MAX_LIVE
    )]
    TooMany,
    #[error("no random bytes available")]
    Random,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// The play tokens of the accounts' database.
#[derive(Debug, Clone)]
pub struct PlayTokens {
    pool: PgPool,
}

impl PlayTokens {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// A new play token for `user_id`, living `days` (1 to [`MAX_PLAY_TOKEN_DAYS`]): its record,
    /// and the token itself (shown once).
    pub async fn create(
        &self,
        user_id: &str,
        name: &str,
        days: u32,
    ) -> Result<(PlayToken, String), PlayTokenError> {
        // The same rules as an app password's name: both are listed side by side to their user.
        let name = crate::app_passwords::shown_name(name).ok_or(PlayTokenError::InvalidName)?;
        let live = crate::app_passwords::live(&self.pool, "play_tokens", user_id).await?;
        if live >= crate::app_passwords::MAX_LIVE {
            return Err(PlayTokenError::TooMany);
        }
        if !(1..=MAX_PLAY_TOKEN_DAYS).contains(&days) {
            return Err(PlayTokenError::InvalidLifetime);
        }
        let token = random_secret(PLAY_TOKEN_PREFIX).map_err(|_| PlayTokenError::Random)?;
        let record = sqlx::query_as::<_, PlayToken>(
            "INSERT INTO accounts.play_tokens (id, user_id, name, digest, expires_at)
             VALUES ($1, $2, $3, $4, now() + $5)
             RETURNING id, name, created_at, expires_at, revoked_at",
        )
        .bind(uuid::Uuid::new_v4())
        .bind(user_id)
        .bind(name)
        .bind(digest(&token))
        .bind(TimeDelta::days(i64::from(days)))
        .fetch_one(&self.pool)
        .await?;
        Ok((record, token))
    }

    pub async fn list(&self, user_id: &str) -> Result<Vec<PlayToken>, PlayTokenError> {
        Ok(sqlx::query_as::<_, PlayToken>(
            "SELECT id, name, created_at, expires_at, revoked_at FROM accounts.play_tokens
             WHERE user_id = $1 ORDER BY created_at, id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Revokes one of `user_id`'s play tokens (another user's is not found).
    pub async fn revoke(&self, user_id: &str, id: uuid::Uuid) -> Result<(), PlayTokenError> {
        let done = sqlx::query(
            "UPDATE accounts.play_tokens SET revoked_at = coalesce(revoked_at, now())
             WHERE id = $1 AND user_id = $2",
        )
        .bind(id)
        .bind(user_id)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(PlayTokenError::NotFound);
        }
        Ok(())
    }

    /// The user id a play token stands for; `None` when it is unknown, expired, revoked, or its
    /// account is disabled.
    pub async fn verify(&self, token: &str) -> Result<Option<String>, PlayTokenError> {
        // Anything else in a URL is no play token: not worth a query.
        if !crate::secret::is_shaped(PLAY_TOKEN_PREFIX, token) {
            return Ok(None);
        }
        let found: Option<(String,)> = sqlx::query_as(
            "SELECT u.user_id FROM accounts.play_tokens t JOIN accounts.users u USING (user_id)
             WHERE t.digest = $1 AND t.revoked_at IS NULL AND t.expires_at > now()
               AND u.disabled_at IS NULL",
        )
        .bind(digest(token))
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.map(|(user_id,)| user_id))
    }
}
