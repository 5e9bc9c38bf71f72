//! What an account deletion does to the accounts' own tables. First every credential that lets an
//! app act for the user is withdrawn ([`Accounts::revoke_credentials`]), so that once every
//! instance has seen it nothing can write for the user behind the deletion's back; then, the
//! pipeline having deleted the data, the account is erased ([`Accounts::erase`]): nothing that can
//! log in remains, and nothing personal is kept. The user row stays as a husk (its id, `deleted`,
//! no password, disabled) so that the app authorizations keep their rows — revoked, which is how
//! every instance's grant cache learns of it within a second (a deleted row would never be seen).

use crate::store::{AccountError, Accounts};

const REVOKE: [&str; 4] = [
    "DELETE FROM accounts.app_passwords WHERE user_id = $1",
    // A granted log-in not yet picked up would hand over an app password.
    "DELETE FROM accounts.login_flows WHERE user_id = $1",
    "DELETE FROM accounts.play_tokens WHERE user_id = $1",
    "UPDATE accounts.app_authorizations
     SET revoked_at = coalesce(revoked_at, now()), changed_at = clock_timestamp(),
         app_name = '', scopes = ''
     WHERE user_id = $1",
];

const ERASE: [&str; 2] = [
    "DELETE FROM accounts.sessions WHERE user_id = $1",
    "UPDATE accounts.users
     SET username = 'deleted', username_key = 'deleted:' || user_id, password_hash = '',
         disabled_at = coalesce(disabled_at, now()), failed_logins = 0, locked_until = NULL
     WHERE user_id = $1",
];

impl Accounts {
    /// Withdraws the user's app passwords, play tokens and app authorizations (the sessions stay:
    /// the user is still there to finish the deletion).
    pub async fn revoke_credentials(&self, user_id: &str) -> Result<(), AccountError> {
        self.run_all(user_id, &REVOKE).await
    }

    /// Everything [`Accounts::revoke_credentials`] does, then the sessions and the user's name
    /// and password.
    pub async fn erase(&self, user_id: &str) -> Result<(), AccountError> {
        let all: Vec<&str> = REVOKE.iter().chain(ERASE.iter()).copied().collect();
        self.run_all(user_id, &all).await
    }

    async fn run_all(&self, user_id: &str, statements: &[&str]) -> Result<(), AccountError> {
        let mut tx = self.pool().begin().await?;
        for sql in statements {
            sqlx::query(sqlx::AssertSqlSafe(*sql))
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
