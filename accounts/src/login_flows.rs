//! Nextcloud's Login Flow v2, by which an app (AntennaPod) gets an app password without the user
//! typing one: the app starts a flow and receives a poll token and a log-in URL; the user opens
//! the URL, logs in and grants; the app's next poll receives the username and a new app password,
//! once (the flow is then gone).
//!
//! Nothing secret is stored: the poll token only as its digest, the flow id is a random secret
//! the browser sees, and the app password is created only when the app polls with its token — a
//! grant records who granted, never a password waiting in a table. Flows live 20 minutes (the
//! app polls for 5); expired ones are swept whenever a flow starts, and the number pending is
//! bounded per requesting address and in all.

use crate::secret::{NoRandom, digest, random_secret};
use chrono::TimeDelta;
use sqlx::PgPool;

pub(crate) const DDL: &str = r#"
CREATE TABLE IF NOT EXISTS accounts.login_flows (
    -- The random id in the log-in URL the browser opens.
    id          text        PRIMARY KEY,
    -- SHA-256 of the poll token only the app holds, hex.
    poll_digest text        NOT NULL UNIQUE,
    -- The app, as its User-Agent names it (bounded): the name of the app password.
    client      text        NOT NULL,
    -- Who started the flow (bounds the flows pending per address).
    address     text        NOT NULL,
    expires_at  timestamptz NOT NULL,
    -- Set when the user grants.
    user_id     text        REFERENCES accounts.users (user_id)
);
CREATE INDEX IF NOT EXISTS login_flows_address ON accounts.login_flows (address);
CREATE INDEX IF NOT EXISTS login_flows_expiry ON accounts.login_flows (expires_at);
"#;

/// How long a flow waits for its grant and its poll.
pub const LOGIN_FLOW_LIFETIME: TimeDelta = TimeDelta::minutes(20);
/// Flows pending per requesting address: an app starts one at a time, a user retries a few.
pub const MAX_FLOWS_PER_ADDRESS: i64 = 10;
/// Flows pending in all: the table stays small whatever the number of addresses.
pub const MAX_FLOWS: i64 = 10_000;
/// Longest client name kept (the rest of a User-Agent is dropped).
pub const MAX_CLIENT_CHARS: usize = 60;
/// A flow id or poll token as we issue them: 43 characters of base64url.
const SECRET_CHARS: usize = 43;

#[derive(Debug, thiserror::Error)]
pub enum LoginFlowError {
    #[error("too many log-ins pending: try again in a few minutes")]
    TooMany,
    #[error("no such log-in: it expired, was used, or was cancelled")]
    NotFound,
    #[error(transparent)]
    Random(#[from] NoRandom),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// A flow just started: the id of its log-in URL and the token the app polls with.
#[derive(Debug, Clone)]
pub struct StartedFlow {
    pub id: String,
    pub poll_token: String,
}

/// A flow waiting for its user, as the grant page shows it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PendingFlow {
    pub client: String,
    pub address: String,
}

/// What a poll hands over once granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantedLogin {
    pub username: String,
    pub app_password: String,
}

/// A User-Agent as the name of an app password: one line of printable text, bounded, or a
/// generic name.
pub fn client_name(user_agent: Option<&str>) -> String {
    let cleaned: String = user_agent
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_CLIENT_CHARS)
        .collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() {
        "Nextcloud client".to_owned()
    } else {
        cleaned.to_owned()
    }
}

/// Whether `text` could be a flow id or poll token we issued (checked before any query).
pub fn well_formed(text: &str) -> bool {
    text.len() == SECRET_CHARS
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[derive(Debug, Clone)]
pub struct LoginFlows {
    pool: PgPool,
}

impl LoginFlows {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Starts a flow for the app `client` asking from `address`; expired flows are swept first.
    pub async fn start(&self, client: &str, address: &str) -> Result<StartedFlow, LoginFlowError> {
        sqlx::query("DELETE FROM accounts.login_flows WHERE expires_at < now()")
            .execute(&self.pool)
            .await?;
        let (pending, here): (i64, i64) = sqlx::query_as(
            "SELECT count(*), count(*) FILTER (WHERE address = $1) FROM accounts.login_flows",
        )
        .bind(address)
        .fetch_one(&self.pool)
        .await?;
        // Two starts at once may both pass: the bounds are approximate by a few, never unbounded.
        if pending >= MAX_FLOWS || here >= MAX_FLOWS_PER_ADDRESS {
            return Err(LoginFlowError::TooMany);
        }
        let flow = StartedFlow {
            id: random_secret("")?,
            poll_token: random_secret("")?,
        };
        sqlx::query(
            "INSERT INTO accounts.login_flows (id, poll_digest, client, address, expires_at)
             VALUES ($1, $2, $3, $4, now() + $5)",
        )
        .bind(&flow.id)
        .bind(digest(&flow.poll_token))
        .bind(client_name(Some(client)))
        .bind(address)
        .bind(LOGIN_FLOW_LIFETIME)
        .execute(&self.pool)
        .await?;
        Ok(flow)
    }

    /// The flow of a log-in URL while it waits for a grant.
    pub async fn pending(&self, id: &str) -> Result<Option<PendingFlow>, LoginFlowError> {
        if !well_formed(id) {
            return Ok(None);
        }
        Ok(sqlx::query_as::<_, PendingFlow>(
            "SELECT client, address FROM accounts.login_flows
             WHERE id = $1 AND user_id IS NULL AND expires_at > now()",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// The user grants the flow: its next poll receives an app password for them.
    pub async fn grant(&self, id: &str, user_id: &str) -> Result<(), LoginFlowError> {
        let done = sqlx::query(
            "UPDATE accounts.login_flows SET user_id = $2
             WHERE id = $1 AND user_id IS NULL AND expires_at > now()",
        )
        .bind(id)
        .bind(user_id)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(LoginFlowError::NotFound);
        }
        Ok(())
    }

    /// The user refuses: the flow is gone, its polls find nothing.
    pub async fn cancel(&self, id: &str) -> Result<(), LoginFlowError> {
        sqlx::query("DELETE FROM accounts.login_flows WHERE id = $1 AND user_id IS NULL")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The app's poll: `None` until granted (or when unknown, expired, already picked up, or the
    /// account disabled since); once granted, the flow consumed and a new app password, named
    /// after the app, created in the same transaction.
    pub async fn poll(&self, token: &str) -> Result<Option<GrantedLogin>, LoginFlowError> {
        if !well_formed(token) {
            return Ok(None);
        }
        let mut tx = self.pool.begin().await?;
        let granted: Option<(String, String, String)> = sqlx::query_as(
            "DELETE FROM accounts.login_flows f USING accounts.users u
             WHERE f.poll_digest = $1 AND f.expires_at > now() AND u.user_id = f.user_id
               AND u.disabled_at IS NULL
             RETURNING f.user_id, u.username, f.client",
        )
        .bind(digest(token))
        .fetch_optional(&mut *tx)
        .await?;
        let Some((user_id, username, client)) = granted else {
            return Ok(None);
        };
        let app_password = random_secret("bal_")?;
        sqlx::query(
            "INSERT INTO accounts.app_passwords (id, user_id, name, digest) VALUES ($1, $2, $3, $4)",
        )
        .bind(uuid::Uuid::new_v4())
        .bind(&user_id)
        .bind(&client)
        .bind(digest(&app_password))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(GrantedLogin {
            username,
            app_password,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_agent_names_the_app_password_on_one_bounded_line() {
        assert_eq!(client_name(Some(" AntennaPod/3.5 ")), "AntennaPod/3.5");
        assert_eq!(client_name(Some("a\nb\u{7}c")), "abc");
        assert_eq!(client_name(Some(&"x".repeat(500))).len(), MAX_CLIENT_CHARS);
        assert_eq!(client_name(None), "Nextcloud client");
        assert_eq!(client_name(Some(" \t ")), "Nextcloud client");
        // What an app password's name accepts (1 to 100 characters, one line).
        assert!(crate::app_passwords::shown_name(&client_name(Some(&"é".repeat(200)))).is_some());
    }

    #[test]
    fn only_secrets_of_our_shape_are_looked_up() {
        let issued = random_secret("").expect("random");
        assert!(well_formed(&issued));
        assert!(!well_formed(""));
        assert!(!well_formed(&"a".repeat(44)));
        assert!(!well_formed(&format!("{}'", &issued[..42])));
    }
}
