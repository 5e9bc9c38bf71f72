//! A verifier over a fixed set of app public keys, read from a directory of `{app_id}.pem` files.

use crate::granted::AppGrant;
use crate::{
    AuthError, Caller, Claims, MAX_TOKEN_LIFETIME_SECS, MIN_RSA_BITS, Scopes, TokenVerifier,
};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use std::collections::HashMap;
use std::path::Path;

#[derive(Clone)]
pub struct StaticKeyVerifier {
    keys: HashMap<String, DecodingKey>,
    validation: Validation,
}

impl std::fmt::Debug for StaticKeyVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticKeyVerifier")
            .field("apps", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyLoadError {
    #[error("cannot read app keys directory {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not an RSA public key in PEM format: {reason}")]
    BadKey { path: String, reason: String },
}

impl StaticKeyVerifier {
    pub fn new(keys: HashMap<String, DecodingKey>) -> Self {
        Self {
            keys,
            validation: validation(),
        }
    }

    /// One key per `{app_id}.pem` file (RSA public key, PEM) in `dir`.
    pub fn from_dir(dir: &Path) -> Result<Self, KeyLoadError> {
        let io = |source| KeyLoadError::Io {
            path: dir.display().to_string(),
            source,
        };
        let mut keys = HashMap::new();
        for entry in std::fs::read_dir(dir).map_err(io)? {
            let path = entry.map_err(io)?.path();
            let (Some(app), Some("pem")) = (
                path.file_stem().and_then(|s| s.to_str()),
                path.extension().and_then(|e| e.to_str()),
            ) else {
                continue;
            };
            let pem = std::fs::read(&path).map_err(io)?;
            let key = DecodingKey::from_rsa_pem(&pem).map_err(|e| KeyLoadError::BadKey {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
            keys.insert(app.to_owned(), key);
        }
        Ok(Self::new(keys))
    }

    pub fn app_count(&self) -> usize {
        self.keys.len()
    }
}

impl TokenVerifier for StaticKeyVerifier {
    fn verify(&self, token: &str) -> Result<Caller, AuthError> {
        verify_rs256(token, &self.validation, |claims| {
            let key = self.keys.get(&claims.iss).ok_or(AuthError::UnknownApp)?;
            // The key directory is the operator's: its apps hold every scope.
            Ok(AppGrant {
                key: key.clone(),
                scopes: Scopes::everything(),
                version: None,
            })
        })
    }
}

/// The validation every app token gets: RS256 only, `exp`, `sub` and `iss` required, `nbf`
/// honoured, 30 s of leeway for clock skew.
pub(crate) fn validation() -> Validation {
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_required_spec_claims(&["exp", "sub", "iss"]);
    validation.validate_nbf = true;
    // A small leeway absorbs clock skew between the app and us without letting stale tokens
    // live long.
    validation.leeway = 30;
    validation
}

/// The longest token accepted, in bytes: a header of this size is refused before any decoding.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Verifies an RS256 token with the key (and the scopes) `grant` finds for its claims, read
/// unverified only to find that key.
pub(crate) fn verify_rs256(
    token: &str,
    validation: &Validation,
    grant: impl FnOnce(&Claims) -> Result<AppGrant, AuthError>,
) -> Result<Caller, AuthError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(AuthError::Malformed);
    }
    let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::Malformed)?;
    if header.alg != Algorithm::RS256 {
        return Err(AuthError::InvalidClaims);
    }
    // Well-formed JSON without the claims we require (a missing `exp`) is an invalid token, not
    // a malformed one.
    let unverified =
        jsonwebtoken::dangerous::insecure_decode::<Claims>(token).map_err(|e| match e.kind() {
            ErrorKind::Json(e) if e.is_data() => AuthError::InvalidClaims,
            _ => AuthError::Malformed,
        })?;
    let AppGrant {
        key,
        scopes,
        version,
    } = grant(&unverified.claims)?;
    let data =
        jsonwebtoken::decode::<Claims>(token, &key, validation).map_err(|e| match e.kind() {
            ErrorKind::ExpiredSignature => AuthError::Expired,
            ErrorKind::InvalidSignature => AuthError::BadSignature,
            ErrorKind::InvalidToken
            | ErrorKind::Base64(_)
            | ErrorKind::Json(_)
            | ErrorKind::Utf8(_) => AuthError::Malformed,
            _ => AuthError::InvalidClaims,
        })?;
    let claims = data.claims;
    if claims.sub.is_empty() {
        return Err(AuthError::InvalidClaims);
    }
    if claims.exp - chrono::Utc::now().timestamp() > MAX_TOKEN_LIFETIME_SECS {
        return Err(AuthError::TooLong);
    }
    Ok(Caller {
        user_id: claims.sub,
        app_id: claims.iss,
        device_id: claims.device_id,
        device_name: claims.device_name,
        scopes,
        expires_at: claims.exp,
        grant_version: version,
    })
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("not a public key in PEM format")]
    NotPem,
    #[error("not an RSA public key")]
    NotRsa,
    #[error("an RSA key of {0} bits: at least {MIN_RSA_BITS} are required")]
    TooSmall(usize),
}

/// An app's public key as it registers it: PEM, RSA (SubjectPublicKeyInfo, `BEGIN PUBLIC KEY`),
/// at least [`MIN_RSA_BITS`].
pub fn public_key(pem_text: &str) -> Result<DecodingKey, KeyError> {
    let block = pem::parse(pem_text.trim()).map_err(|_| KeyError::NotPem)?;
    if block.tag() != "PUBLIC KEY" {
        return Err(KeyError::NotRsa);
    }
    let bits = rsa_modulus_bits(block.contents()).ok_or(KeyError::NotRsa)?;
    if bits < MIN_RSA_BITS {
        return Err(KeyError::TooSmall(bits));
    }
    DecodingKey::from_rsa_pem(pem_text.as_bytes()).map_err(|_| KeyError::NotRsa)
}

/// The DER of the rsaEncryption algorithm identifier's OID (1.2.840.113549.1.1.1).
const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

/// The size of the modulus of an RSA SubjectPublicKeyInfo, `None` when it is not one: read here
/// because the crypto library refuses small keys without saying their size.
fn rsa_modulus_bits(spki: &[u8]) -> Option<usize> {
    let (info, _) = der(spki, 0x30)?;
    let (algorithm, rest) = der(info, 0x30)?;
    let (oid, _) = der(algorithm, 0x06)?;
    if oid != RSA_ENCRYPTION {
        return None;
    }
    let (bits, _) = der(rest, 0x03)?;
    let (key, _) = der(bits.strip_prefix(&[0])?, 0x30)?;
    let (modulus, _) = der(key, 0x02)?;
    let modulus = match modulus.iter().position(|&b| b != 0) {
        Some(first) => &modulus[first..],
        None => return Some(0),
    };
    Some(modulus.len() * 8 - modulus[0].leading_zeros() as usize)
}

/// One DER element of `tag` at the start of `input`: its contents and what follows.
fn der(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&found, rest) = input.split_first()?;
    if found != tag {
        return None;
    }
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let (len, after) = rest.split_at(count);
        rest = after;
        len.iter().fold(0usize, |n, &b| (n << 8) | usize::from(b))
    };
    (rest.len() >= len).then(|| rest.split_at(len))
}
