//! Authentication shared by the APIs: verification of the RS256 JWTs that client apps sign,
//! behind the [`TokenVerifier`] interface so that the full app-authorization
//! model (keys and scopes stored per user and app) can replace the static key set later.

mod cache;
mod granted;
mod keys;
mod mint;
pub mod request;
pub mod scopes;

pub use cache::CachedVerifier;
pub use granted::{AppGrant, GrantedVerifier, Grants, OperatorThenGranted};
pub use jsonwebtoken::DecodingKey;
pub use keys::{KeyError, KeyLoadError, StaticKeyVerifier, public_key};
pub use mint::{MintError, generate_app_keys, mint_token};
pub use scopes::{Access, Area, Grant, Permission, Scopes};

use serde::{Deserialize, Serialize};

/// What a verified token says about the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user_id: String,
    pub app_id: String,
    pub device_id: Option<String>,
    pub device_name: Option<String>,
    /// What the user granted this app: from the verifier's store, never from the token.
    pub scopes: Scopes,
    /// The token's expiry (Unix seconds): how long a verification may be remembered.
    pub expires_at: i64,
    /// Which version of the user's authorization of the app verified it (`None`: an operator's
    /// app): a remembered verification holds only while that version does.
    pub grant_version: Option<i64>,
}

/// The JWT claims the API reads. `exp` is required and checked.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub exp: i64,
    #[serde(default)]
    pub iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("missing bearer token")]
    Missing,
    #[error("malformed token")]
    Malformed,
    #[error("token expired")]
    Expired,
    #[error("token signed by an unknown app")]
    UnknownApp,
    #[error("token signature is invalid")]
    BadSignature,
    #[error("token is missing a required claim or uses a forbidden algorithm")]
    InvalidClaims,
    #[error("token lives longer than the allowed {} days", MAX_TOKEN_LIFETIME_SECS / 86_400)]
    TooLong,
    /// A valid token whose user or app is over its rate limit (a verifier that admits callers
    /// also says when they are too many).
    #[error("too many requests for this {who}; retry in {retry_after_secs} s")]
    RateLimited {
        who: &'static str,
        retry_after_secs: u64,
    },
}

impl AuthError {
    /// A stable machine-readable code for API error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Missing => "missing_token",
            Self::Malformed => "malformed_token",
            Self::Expired => "token_expired",
            Self::UnknownApp => "unknown_app",
            Self::BadSignature => "invalid_signature",
            Self::InvalidClaims => "invalid_token",
            Self::TooLong => "token_lifetime_too_long",
            Self::RateLimited { .. } => "rate_limited",
        }
    }
}

/// Verifies a bearer token and says who is calling.
pub trait TokenVerifier: Send + Sync + std::fmt::Debug {
    fn verify(&self, token: &str) -> Result<Caller, AuthError>;

    /// The caller a remembered verification stands for now (its current scopes), or `None` when
    /// it no longer holds (revoked, or re-authorized with another key) and the token must be
    /// verified again. Cheap: no signature is checked.
    fn revalidate(&self, remembered: &Caller) -> Option<Caller> {
        Some(remembered.clone())
    }
}

/// The longest a token may live from now on (`exp`): a leaked token is worth a bounded time.
pub const MAX_TOKEN_LIFETIME_SECS: i64 = 31 * 24 * 3600;

/// The smallest RSA modulus an app may register or sign with.
pub const MIN_RSA_BITS: usize = 2048;

/// Extracts the token from an `Authorization: Bearer …` header value.
pub fn bearer(header: Option<&str>) -> Result<&str, AuthError> {
    let value = header.ok_or(AuthError::Missing)?;
    let (scheme, token) = value.split_once(' ').ok_or(AuthError::Malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(AuthError::Malformed);
    }
    Ok(token.trim())
}
