//! App authorizations: per (user, app) the public key the app registered and the scopes the user
//! granted (`accounts.app_authorizations`). [`GrantCache`] keeps them in memory for the token
//! verifier and follows changes every [`REFRESH`]: a revocation is refused within about a second
//! on every instance.

use balados_auth::{AppGrant, Grants, KeyError, Scopes};
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Duration;

pub(crate) const DDL: &str = r#"
CREATE TABLE IF NOT EXISTS accounts.app_authorizations (
    user_id        text        NOT NULL REFERENCES accounts.users (user_id),
    app_id         text        NOT NULL,
    app_name       text        NOT NULL,
    public_key_pem text        NOT NULL,
    scopes         text        NOT NULL,
    authorized_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at     timestamptz,
    -- Every change moves it: what the caches follow.
    changed_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (user_id, app_id)
);
CREATE INDEX IF NOT EXISTS app_authorizations_changed ON accounts.app_authorizations (changed_at);
"#;

/// How often the caches read the changes.
pub const REFRESH: Duration = Duration::from_millis(500);

#[derive(Debug, thiserror::Error)]
pub enum AuthorizationError {
    #[error("the app's key is refused: {0}")]
    BadKey(#[from] KeyError),
    #[error("no such authorization")]
    NotFound,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Authorization {
    pub app_id: String,
    pub app_name: String,
    pub scopes: String,
    pub authorized_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Authorizations {
    pool: PgPool,
}

impl Authorizations {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Records that `user_id` authorizes `app_id` (with its key) for `scopes`; authorizing again
    /// replaces the key and the scopes, and lifts a revocation.
    pub async fn authorize(
        &self,
        user_id: &str,
        (app_id, app_name, public_key_pem): (&str, &str, &str),
        scopes: &Scopes,
    ) -> Result<(), AuthorizationError> {
        balados_auth::public_key(public_key_pem)?;
        sqlx::query(
            "INSERT INTO accounts.app_authorizations
                 (user_id, app_id, app_name, public_key_pem, scopes)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (user_id, app_id) DO UPDATE SET
                 app_name = EXCLUDED.app_name, public_key_pem = EXCLUDED.public_key_pem,
                 scopes = EXCLUDED.scopes, authorized_at = now(), revoked_at = NULL,
                 changed_at = clock_timestamp()",
        )
        .bind(user_id)
        .bind(app_id)
        .bind(app_name)
        .bind(public_key_pem)
        .bind(scopes.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The apps `user_id` has authorized and not revoked.
    pub async fn list(&self, user_id: &str) -> Result<Vec<Authorization>, AuthorizationError> {
        Ok(sqlx::query_as::<_, Authorization>(
            "SELECT app_id, app_name, scopes, authorized_at FROM accounts.app_authorizations
             WHERE user_id = $1 AND revoked_at IS NULL ORDER BY authorized_at, app_id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn revoke(&self, user_id: &str, app_id: &str) -> Result<(), AuthorizationError> {
        let done = sqlx::query(
            "UPDATE accounts.app_authorizations SET revoked_at = now(), changed_at = clock_timestamp()
             WHERE user_id = $1 AND app_id = $2 AND revoked_at IS NULL",
        )
        .bind(user_id)
        .bind(app_id)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(AuthorizationError::NotFound);
        }
        Ok(())
    }
}

type Key = (String, String);

/// The authorizations in memory, for the token verifier (see [`balados_auth::GrantedVerifier`]).
#[derive(Debug, Default)]
pub struct GrantCache {
    grants: RwLock<HashMap<Key, AppGrant>>,
    /// The latest change applied.
    seen: RwLock<Option<DateTime<Utc>>>,
}

#[derive(sqlx::FromRow)]
struct Change {
    user_id: String,
    app_id: String,
    public_key_pem: String,
    scopes: String,
    revoked: bool,
    changed_at: DateTime<Utc>,
}

impl GrantCache {
    /// Applies the changes since the last refresh (all of them the first time).
    pub async fn refresh(&self, pool: &PgPool) -> Result<usize, sqlx::Error> {
        let since = *self.seen.read().unwrap_or_else(|e| e.into_inner());
        // A second of overlap: a change committed late with an earlier timestamp is not missed
        // (applying one twice is harmless).
        let from = since.map(|s| s - chrono::TimeDelta::seconds(1));
        let changes: Vec<Change> = sqlx::query_as(
            "SELECT user_id, app_id, public_key_pem, scopes, revoked_at IS NOT NULL AS revoked,
                    changed_at
             FROM accounts.app_authorizations
             WHERE $1::timestamptz IS NULL OR changed_at >= $1 ORDER BY changed_at",
        )
        .bind(from)
        .fetch_all(pool)
        .await?;
        let mut grants = self.grants.write().unwrap_or_else(|e| e.into_inner());
        for change in &changes {
            let key = (change.user_id.clone(), change.app_id.clone());
            let grant = (!change.revoked)
                .then(|| balados_auth::public_key(&change.public_key_pem).ok())
                .flatten()
                .zip(Scopes::parse(&change.scopes).ok())
                .map(|(key, scopes)| AppGrant {
                    key,
                    scopes,
                    version: Some(change.changed_at.timestamp_micros()),
                });
            match grant {
                Some(grant) => grants.insert(key, grant),
                None => grants.remove(&key),
            };
        }
        if let Some(last) = changes.last() {
            *self.seen.write().unwrap_or_else(|e| e.into_inner()) = Some(last.changed_at);
        }
        Ok(changes.len())
    }
}

impl Grants for GrantCache {
    fn grant(&self, user_id: &str, app_id: &str) -> Option<AppGrant> {
        self.grants
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(user_id.to_owned(), app_id.to_owned()))
            .cloned()
    }
}
