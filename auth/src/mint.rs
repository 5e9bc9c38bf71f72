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

/// An app's key pair for development: a 2048-bit RSA private key (PKCS#8 PEM, which signs) and its
/// public key (SubjectPublicKeyInfo PEM, which the app registers).
pub fn generate_app_keys() -> Result<(String, String), MintError> {
    use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
    use aws_lc_rs::rsa::{KeySize, PrivateDecryptingKey};
    let failed = |e: aws_lc_rs::error::Unspecified| MintError::Sign(e.to_string());
    let private = PrivateDecryptingKey::generate(KeySize::Rsa2048).map_err(failed)?;
    let private_der = AsDer::<Pkcs8V1Der>::as_der(&private).map_err(failed)?;
    let public_der = AsDer::<PublicKeyX509Der>::as_der(&private.public_key()).map_err(failed)?;
    Ok((
        pem::encode(&pem::Pem::new("PRIVATE KEY", private_der.as_ref())),
        pem::encode(&pem::Pem::new("PUBLIC KEY", public_der.as_ref())),
    ))
}
