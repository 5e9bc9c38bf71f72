//! A verifier over a fixed set of app public keys, read from a directory of `{app_id}.pem` files.

use crate::{AuthError, Caller, Claims, Scopes, TokenVerifier};
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
            Ok((key.clone(), Scopes::everything()))
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

/// Verifies an RS256 token with the key (and the scopes) `grant` finds for its claims, read
/// unverified only to find that key.
pub(crate) fn verify_rs256(
    token: &str,
    validation: &Validation,
    grant: impl FnOnce(&Claims) -> Result<(DecodingKey, Scopes), AuthError>,
) -> Result<Caller, AuthError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::Malformed)?;
    if header.alg != Algorithm::RS256 {
        return Err(AuthError::InvalidClaims);
    }
    let unverified = jsonwebtoken::dangerous::insecure_decode::<Claims>(token)
        .map_err(|_| AuthError::Malformed)?;
    let (key, scopes) = grant(&unverified.claims)?;
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
    Ok(Caller {
        user_id: claims.sub,
        app_id: claims.iss,
        device_id: claims.device_id,
        device_name: claims.device_name,
        scopes,
        expires_at: claims.exp,
    })
}
