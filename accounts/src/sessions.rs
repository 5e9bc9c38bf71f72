//! Sessions: a random cookie value (stored as its digest, so that a read of the table cannot be
//! replayed), the user it logs in, its [`SessionKind`], and the session's CSRF token, which every
//! form of the pages carries. A log-in always opens a new session (a session id planted before
//! log-in is never promoted: no fixation); log-out and a password change close sessions. A
//! session is found only as the kind it was opened as: one opened with an app password (gpodder
//! protocol) never opens the account's pages.

use crate::secret::{NoRandom, digest, random_secret};
use chrono::{DateTime, TimeDelta, Utc};
use sqlx::PgPool;

pub(crate) const DDL: &str = r#"
CREATE TABLE IF NOT EXISTS accounts.sessions (
    -- SHA-256 of the cookie value, hex.
    digest     text        PRIMARY KEY,
    user_id    text        NOT NULL REFERENCES accounts.users (user_id),
    csrf       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
ALTER TABLE accounts.sessions ADD COLUMN IF NOT EXISTS kind text NOT NULL DEFAULT 'web';
-- The app password a gpodder session was opened with: revoking it ends the session.
ALTER TABLE accounts.sessions ADD COLUMN IF NOT EXISTS app_password_id uuid;
CREATE INDEX IF NOT EXISTS sessions_user ON accounts.sessions (user_id);
CREATE INDEX IF NOT EXISTS sessions_expiry ON accounts.sessions (expires_at);
"#;

/// How long a session lasts from log-in, whatever its use.
pub const SESSION_LIFETIME: TimeDelta = TimeDelta::days(14);

/// Sessions of one kind a user keeps at most: opening one more closes the oldest (a client that
/// drops its cookies and logs in again and again does not grow the table).
pub const MAX_SESSIONS_PER_KIND: i64 = 50;

/// What logged a session in, and so what it may open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    /// The account's pages, opened with the account password.
    Web,
    /// The gpodder protocol, opened with an app password: never the pages.
    Gpodder,
}

impl SessionKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Web => "web",
            Self::Gpodder => "gpodder",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Random(#[from] NoRandom),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// A live session: who, and the token its forms must carry.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Session {
    pub user_id: String,
    pub username: String,
    pub csrf: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Sessions {
    pool: PgPool,
}

impl Sessions {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Opens a session of `kind` for `user_id`: the cookie value (shown to the browser only) and
    /// the session. Expired sessions, and the user's oldest of that kind beyond
    /// [`MAX_SESSIONS_PER_KIND`], are swept on the way.
    pub async fn open(
        &self,
        user_id: &str,
        kind: SessionKind,
    ) -> Result<(String, Session), SessionError> {
        self.open_linked(user_id, kind, None).await
    }

    /// A gpodder session opened with the app password `app_password`: it lives only while that
    /// password does.
    pub async fn open_for_app_password(
        &self,
        user_id: &str,
        app_password: uuid::Uuid,
    ) -> Result<(String, Session), SessionError> {
        self.open_linked(user_id, SessionKind::Gpodder, Some(app_password))
            .await
    }

    async fn open_linked(
        &self,
        user_id: &str,
        kind: SessionKind,
        app_password: Option<uuid::Uuid>,
    ) -> Result<(String, Session), SessionError> {
        let cookie = random_secret("")?;
        let csrf = random_secret("")?;
        sqlx::query("DELETE FROM accounts.sessions WHERE expires_at < now()")
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "DELETE FROM accounts.sessions WHERE digest IN (
                 SELECT digest FROM accounts.sessions WHERE user_id = $1 AND kind = $2
                 ORDER BY created_at DESC OFFSET $3)",
        )
        .bind(user_id)
        .bind(kind.as_str())
        .bind(MAX_SESSIONS_PER_KIND - 1)
        .execute(&self.pool)
        .await?;
        let session = sqlx::query_as::<_, Session>(
            "WITH opened AS (
                 INSERT INTO accounts.sessions (digest, user_id, csrf, expires_at, kind, app_password_id)
                 VALUES ($1, $2, $3, now() + $4, $5, $6) RETURNING user_id, csrf, expires_at)
             SELECT o.user_id, u.username, o.csrf, o.expires_at
             FROM opened o JOIN accounts.users u USING (user_id)",
        )
        .bind(digest(&cookie))
        .bind(user_id)
        .bind(csrf)
        .bind(SESSION_LIFETIME)
        .bind(kind.as_str())
        .bind(app_password)
        .fetch_one(&self.pool)
        .await?;
        Ok((cookie, session))
    }

    /// The live session of `kind` a cookie value stands for; `None` when unknown, of another
    /// kind, expired, or the account is disabled.
    pub async fn find(
        &self,
        cookie: &str,
        kind: SessionKind,
    ) -> Result<Option<Session>, SessionError> {
        Ok(sqlx::query_as::<_, Session>(
            "SELECT s.user_id, u.username, s.csrf, s.expires_at
             FROM accounts.sessions s JOIN accounts.users u USING (user_id)
             WHERE s.digest = $1 AND s.kind = $2 AND s.expires_at > now()
               AND u.disabled_at IS NULL
               -- A session opened with an app password ends with it (revoked or deleted).
               AND (s.app_password_id IS NULL OR EXISTS (
                   SELECT 1 FROM accounts.app_passwords p
                   WHERE p.id = s.app_password_id AND p.revoked_at IS NULL))",
        )
        .bind(digest(cookie))
        .bind(kind.as_str())
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn close(&self, cookie: &str) -> Result<(), SessionError> {
        sqlx::query("DELETE FROM accounts.sessions WHERE digest = $1")
            .bind(digest(cookie))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Closes every session of `user_id` but `keep` (a password change logs out elsewhere).
    pub async fn close_others(&self, user_id: &str, keep: &str) -> Result<u64, SessionError> {
        let done = sqlx::query("DELETE FROM accounts.sessions WHERE user_id = $1 AND digest <> $2")
            .bind(user_id)
            .bind(digest(keep))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
