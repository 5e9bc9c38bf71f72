//! Who may write: reads are open (data teams decode with any Confluent client, unauthenticated),
//! while registering, deleting and changing compatibility levels need the operator's credential.
//!
//! The credential travels as HTTP Basic auth because that is what Confluent clients send
//! (librdkafka `basic.auth.user.info`, the Java and Python clients, `schema_registry_converter`),
//! so the same clients and settings work against Confluent's registry and this one.

use base64::Engine as _;
use secrecy::{ExposeSecret as _, SecretString};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use crate::error::RegistryError;

/// What the registry does with writes. There is deliberately no "open" variant: a registry whose
/// writes anyone may make lets anyone break every producer (an incompatible version, a deleted
/// subject), so without a credential writes are refused, never allowed.
#[derive(Debug, Clone)]
pub enum WriteAccess {
    /// Writes need this credential.
    Operator(OperatorCredential),
    /// No credential is configured: every write is refused (403), reads still work.
    Refused,
}

/// The operator's user and password, kept only as SHA-256 digests: comparing digests takes the
/// same time whatever the presented credential and its length, so timing tells nothing about it.
#[derive(Clone)]
pub struct OperatorCredential {
    user: String,
    user_digest: [u8; 32],
    password_digest: [u8; 32],
}

impl std::fmt::Debug for OperatorCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OperatorCredential")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

impl OperatorCredential {
    pub fn new(user: impl Into<String>, password: &SecretString) -> Self {
        let user = user.into();
        Self {
            user_digest: digest(user.as_bytes()),
            password_digest: digest(password.expose_secret().as_bytes()),
            user,
        }
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    /// True when `authorization` (the header's value) is `Basic base64(user:password)` with this
    /// credential. Both parts are always compared, so a right user with a wrong password takes as
    /// long as anything else.
    fn accepts(&self, authorization: &[u8]) -> bool {
        let Some((user, password)) = basic_credential(authorization) else {
            return false;
        };
        let user_ok = digest(&user).ct_eq(&self.user_digest);
        let password_ok = digest(&password).ct_eq(&self.password_digest);
        (user_ok & password_ok).into()
    }
}

impl WriteAccess {
    /// Whether a request with this `Authorization` header value may write.
    pub(crate) fn authorize(&self, authorization: Option<&[u8]>) -> Result<(), RegistryError> {
        match self {
            Self::Refused => Err(RegistryError::WritesRefused),
            Self::Operator(credential) => match authorization {
                Some(value) if credential.accepts(value) => Ok(()),
                _ => Err(RegistryError::Unauthorized),
            },
        }
    }
}

/// `Basic <base64(user:password)>` → `(user, password)`. The scheme is case-insensitive and the
/// user ends at the first colon (RFC 7617); anything malformed is simply no credential.
fn basic_credential(header: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let header = std::str::from_utf8(header).ok()?.trim();
    let (scheme, encoded) = header.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let colon = decoded.iter().position(|&b| b == b':')?;
    Some((decoded[..colon].to_vec(), decoded[colon + 1..].to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(user_password: &str) -> Vec<u8> {
        let encoded = base64::engine::general_purpose::STANDARD.encode(user_password);
        format!("Basic {encoded}").into_bytes()
    }

    fn operator() -> WriteAccess {
        WriteAccess::Operator(OperatorCredential::new(
            "operator",
            &SecretString::from("s3cret:with:colons"),
        ))
    }

    #[test]
    fn the_right_credential_is_accepted_whatever_the_scheme_case() {
        let access = operator();
        assert!(
            access
                .authorize(Some(&basic("operator:s3cret:with:colons")))
                .is_ok()
        );
        let lower = String::from_utf8(basic("operator:s3cret:with:colons"))
            .expect("ascii")
            .replacen("Basic", "basic", 1);
        assert!(access.authorize(Some(lower.as_bytes())).is_ok());
    }

    #[test]
    fn a_wrong_missing_or_malformed_credential_is_unauthorized() {
        let access = operator();
        for header in [
            basic("operator:wrong"),
            basic("someone:s3cret:with:colons"),
            basic("operator:s3cret:with:colons:"),
            basic("operator"),
            basic(""),
            b"Bearer b3BlcmF0b3I6czNjcmV0".to_vec(),
            b"Basic !!not base64!!".to_vec(),
            b"Basic".to_vec(),
            vec![0xff, 0xfe],
        ] {
            assert!(
                matches!(
                    access.authorize(Some(&header)),
                    Err(RegistryError::Unauthorized)
                ),
                "{header:?}"
            );
        }
        assert!(matches!(
            access.authorize(None),
            Err(RegistryError::Unauthorized)
        ));
    }

    #[test]
    fn without_a_configured_credential_every_write_is_refused() {
        let refused = WriteAccess::Refused;
        assert!(matches!(
            refused.authorize(Some(&basic("operator:anything"))),
            Err(RegistryError::WritesRefused)
        ));
        assert!(matches!(
            refused.authorize(None),
            Err(RegistryError::WritesRefused)
        ));
    }

    #[test]
    fn debug_output_never_shows_the_password() {
        let shown = format!("{:?}", operator());
        assert!(shown.contains("operator"), "{shown}");
        assert!(!shown.contains("s3cret"), "{shown}");
    }
}
