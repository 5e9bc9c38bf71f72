//! Changing a password: the current one is checked as a log-in is (a wrong one counts towards the
//! lock-out), the new one must be strong, and it replaces the hash. An operator may also reset a
//! forgotten one.

use crate::password::Password;
use crate::store::{AccountError, Accounts};
use crate::username::Username;
use chrono::Utc;

#[derive(Debug, thiserror::Error)]
pub enum PasswordChangeError {
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error(transparent)]
    Weak(#[from] crate::password::PasswordError),
}

impl Accounts {
    pub async fn change_password(
        &self,
        user_id: &str,
        current: &str,
        new: &str,
    ) -> Result<(), PasswordChangeError> {
        let (username,): (String,) =
            sqlx::query_as("SELECT username FROM accounts.users WHERE user_id = $1")
                .bind(user_id)
                .fetch_optional(self.pool())
                .await
                .map_err(AccountError::from)?
                .ok_or(AccountError::NotFound)?;
        self.log_in(&username, current, Utc::now()).await?;
        let hash = Password::choose(new, &username)?
            .hash()
            .map_err(|_| AccountError::Hash)?;
        sqlx::query("UPDATE accounts.users SET password_hash = $2 WHERE user_id = $1")
            .bind(user_id)
            .bind(&hash.0)
            .execute(self.pool())
            .await
            .map_err(AccountError::from)?;
        Ok(())
    }

    /// An operator's reset of a forgotten password (`balados admin user set-password`): the new
    /// hash, the lock-out cleared, and every session of the account closed, in one transaction —
    /// whoever knew the old password is logged out. App passwords stay: the apps keep syncing.
    /// The account's user id.
    pub async fn reset_password(
        &self,
        username: &Username,
        new: &Password,
    ) -> Result<String, AccountError> {
        let hash = new.hash().map_err(|_| AccountError::Hash)?;
        let mut tx = self.pool().begin().await?;
        let (user_id,): (String,) = sqlx::query_as(
            "UPDATE accounts.users SET password_hash = $2, failed_logins = 0, locked_until = NULL
             WHERE username_key = $1 RETURNING user_id",
        )
        .bind(username.key())
        .bind(&hash.0)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(AccountError::NotFound)?;
        sqlx::query("DELETE FROM accounts.sessions WHERE user_id = $1")
            .bind(&user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(user_id)
    }
}
