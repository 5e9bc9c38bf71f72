//! Accounts: who may log in. A user has a stable internal id (what the pipeline keys on, never
//! changed), a username shown and looked up case-insensitively, and a password hashed with
//! Argon2id. These are system tables in PostgreSQL (`accounts.*`), not event-sourced: the user's
//! listening data stays in the pipeline.

mod app_passwords;
mod authorizations;
mod erase;
mod login_flows;
mod password;
mod password_change;
mod play_tokens;
mod secret;
mod sessions;
mod store;
mod username;

pub use app_passwords::{AppPassword, AppPasswordError, AppPasswords, MAX_LIVE};
pub use authorizations::{Authorization, AuthorizationError, Authorizations, GrantCache, REFRESH};
pub use login_flows::{
    GrantedLogin, LOGIN_FLOW_LIFETIME, LoginFlowError, LoginFlows, MAX_FLOWS,
    MAX_FLOWS_PER_ADDRESS, PendingFlow, StartedFlow, client_name,
};
pub use password::{Password, PasswordError, PasswordHash};
pub use password_change::PasswordChangeError;
pub use play_tokens::{
    DEFAULT_PLAY_TOKEN_DAYS, MAX_PLAY_TOKEN_DAYS, PLAY_TOKEN_PREFIX, PlayToken, PlayTokenError,
    PlayTokens,
};
pub use secret::{NoRandom, digest, random_secret};
pub use sessions::{
    MAX_SESSIONS_PER_KIND, SESSION_LIFETIME, Session, SessionError, SessionKind, Sessions,
};
pub use store::{Account, AccountError, Accounts, FREE_ATTEMPTS, lock_after};
pub use username::{Username, UsernameError};
