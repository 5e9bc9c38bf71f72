//! Random secrets handed to a user or a browser once (app passwords, session cookies, play tokens,
//! CSRF tokens), and the digest they are stored as: at 256 bits of entropy a SHA-256 digest
//! cannot be searched, and checking one costs microseconds.

use base64::Engine as _;
use sha2::{Digest as _, Sha256};

#[derive(Debug, thiserror::Error)]
#[error("no random bytes available")]
pub struct NoRandom;

/// 32 random bytes, base64url, after `prefix` (which says what the secret is, for leak scanners).
pub fn random_secret(prefix: &str) -> Result<String, NoRandom> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).map_err(|_| NoRandom)?;
    Ok(format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

/// What a secret is stored as: SHA-256, hex.
pub fn digest(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
