//! What an account deletion does to the accounts' own tables, once the pipeline has decided the
//! deletion of the user's data: nothing that can log in or act for the user remains, and nothing
//! personal is kept. The user row stays as a husk (its id, `deleted`, no password, disabled) so
//! that the app authorizations keep their rows — revoked, which is how every instance's grant
//! cache learns of it within a second (a deleted row would never be seen by them).

use crate::store::{AccountError, Accounts};

impl Accounts {
    pub async fn erase(&self, user_id: &str) -> Result<(), AccountError> {
        let mut tx = self.pool().begin().await?;
        for sql in [
            "DELETE FROM accounts.sessions WHERE user_id = $1",
            "DELETE FROM accounts.app_passwords WHERE user_id = $1",
            "DELETE FROM accounts.play_tokens WHERE user_id = $1",
            "UPDATE accounts.app_authorizations
             SET revoked_at = coalesce(revoked_at, now()), changed_at = clock_timestamp(),
                 app_name = '', scopes = ''
             WHERE user_id = $1",
            "UPDATE accounts.users
             SET username = 'deleted', username_key = 'deleted:' || user_id, password_hash = '',
                 disabled_at = coalesce(disabled_at, now()), failed_logins = 0, locked_until = NULL
             WHERE user_id = $1",
        ] {
            sqlx::query(sql).bind(user_id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
