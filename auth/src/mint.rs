//! Minting tokens as an app would: for the demo app, the admin command and tests.

use crate::Claims;
use jsonwebtoken::{Algorithm, EncodingKey, Header};

#[derive(Debug, thiserror::Error)]
pub enum MintError {
    #[error("not an RSA private key in PEM format: {0}")]
    BadKey(String),
    #[error("cannot sign: {0}")]
    Sign(String),
}

/// Signs `claims` with an app's RSA private key (PEM), RS256.
pub fn mint_token(private_pem: &[u8], claims: &Claims) -> Result<String, MintError> {
    let key =
        EncodingKey::from_rsa_pem(private_pem).map_err(|e| MintError::BadKey(e.to_string()))?;
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), claims, &key)
        .map_err(|e| MintError::Sign(e.to_string()))
}
