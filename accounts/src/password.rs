//! Passwords: a minimum strength when one is chosen, Argon2id for storage. The hash is the PHC
//! string (algorithm, parameters and salt inside it), so parameters can be raised later and old
//! hashes still verify.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _, SaltString};

pub const MIN_CHARS: usize = 10;
pub const MAX_CHARS: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("a password has at least {MIN_CHARS} characters")]
    TooShort,
    #[error("a password has at most {MAX_CHARS} characters")]
    TooLong,
    #[error("a password needs at least 5 different characters")]
    TooSimple,
    #[error("a password must not contain the username")]
    ContainsUsername,
}

/// A password that passed the strength rules (never logged: no `Display`, a redacted `Debug`).
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(…)")
    }
}

impl Password {
    /// The strength rules: 10 to 200 characters, at least 5 distinct ones, not containing the
    /// username (whatever the case).
    pub fn choose(raw: &str, username: &str) -> Result<Self, PasswordError> {
        let chars = raw.chars().count();
        if chars < MIN_CHARS {
            return Err(PasswordError::TooShort);
        }
        if chars > MAX_CHARS {
            return Err(PasswordError::TooLong);
        }
        let mut distinct: Vec<char> = raw.chars().collect();
        distinct.sort_unstable();
        distinct.dedup();
        if distinct.len() < 5 {
            return Err(PasswordError::TooSimple);
        }
        if !username.is_empty() && raw.to_lowercase().contains(&username.to_lowercase()) {
            return Err(PasswordError::ContainsUsername);
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn hash(&self) -> Result<PasswordHash, argon2::password_hash::Error> {
        let mut salt = [0u8; 16];
        getrandom::getrandom(&mut salt).map_err(|_| argon2::password_hash::Error::Crypto)?;
        let salt = SaltString::encode_b64(&salt)?;
        let hash = Argon2::default().hash_password(self.0.as_bytes(), &salt)?;
        Ok(PasswordHash(hash.to_string()))
    }
}

/// A stored hash (PHC string).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordHash(pub String);

impl PasswordHash {
    /// Whether `attempt` is the password; a malformed stored hash verifies nothing.
    pub fn verifies(&self, attempt: &str) -> bool {
        argon2::password_hash::PasswordHash::new(&self.0).is_ok_and(|parsed| {
            Argon2::default()
                .verify_password(attempt.as_bytes(), &parsed)
                .is_ok()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_passwords_are_refused_with_their_reason() {
        assert_eq!(
            Password::choose("short", "ann").err(),
            Some(PasswordError::TooShort)
        );
        assert_eq!(
            Password::choose("aaaaaaaaaaaa", "ann").err(),
            Some(PasswordError::TooSimple)
        );
        assert_eq!(
            Password::choose("my-Alice-password", "alice").err(),
            Some(PasswordError::ContainsUsername)
        );
        assert_eq!(
            Password::choose(&"ab3$e".repeat(41), "ann").err(),
            Some(PasswordError::TooLong)
        );
        assert!(Password::choose("correct horse battery", "ann").is_ok());
    }

    #[test]
    fn a_hash_is_argon2id_salted_and_verifies_only_its_password() {
        let password = Password::choose("correct horse battery", "ann").expect("strong");
        let (one, two) = (
            password.hash().expect("hashes"),
            password.hash().expect("hashes"),
        );
        assert!(one.0.starts_with("$argon2id$"), "{}", one.0);
        assert_ne!(one, two, "a salt per hash");
        assert!(one.verifies("correct horse battery"));
        assert!(!one.verifies("correct horse batterY"));
        assert!(!PasswordHash("not a hash".into()).verifies("correct horse battery"));
        assert_eq!(format!("{password:?}"), "Password(…)");
    }
}
