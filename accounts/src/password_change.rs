//! Changing a password: the current one is checked as a log-in is (a wrong one counts towards the
//! lock-out), the new one must be strong, and it replaces the hash.

use crate::password::Password;
use crate::store::{AccountError, Accounts};
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
}
