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

/// Whether `candidate` has the shape of a secret made by [`random_secret`] with `prefix`: what
/// has not is refused without a query.
pub fn is_shaped(prefix: &str, candidate: &str) -> bool {
    // 32 bytes in base64url without padding.
    const ENCODED: usize = 43;
    candidate.strip_prefix(prefix).is_some_and(|rest| {
        rest.len() == ENCODED
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// What a secret is stored as: SHA-256, hex.
pub fn digest(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_has_its_shape_and_little_else_does() {
        let secret = random_secret("bpt_").expect("random");
        assert!(is_shaped("bpt_", &secret));
        assert!(!is_shaped("bap_", &secret), "another prefix");
        assert!(!is_shaped("bpt_", &secret[..secret.len() - 1]), "too short");
        assert!(!is_shaped("bpt_", &format!("{secret}A")), "too long");
        let mangled = format!("bpt_{}", "+".repeat(43));
        assert!(!is_shaped("bpt_", &mangled), "not base64url");
    }
}
