//! Apps authorized by their users: each (user, app) has the public key the app registered and the
//! scopes the user granted, kept by a store ([`Grants`]); the token says who it is for, the store
//! says whether and how much. An app the user has not authorized (or revoked) gets the same answer
//! as a bad signature, so that a caller cannot tell which apps a user authorized.

use crate::keys::{validation, verify_rs256};
use crate::{AuthError, Caller, Scopes, TokenVerifier};
use jsonwebtoken::{DecodingKey, Validation};

/// Where the keys and grants of user-authorized apps are kept.
pub trait Grants: Send + Sync + std::fmt::Debug {
    /// The key `app_id` registered and the scopes `user_id` granted it; `None` when the user has
    /// not authorized the app, or revoked it.
    fn grant(&self, user_id: &str, app_id: &str) -> Option<(DecodingKey, Scopes)>;
}

/// A store shared with whatever keeps it current.
impl<G: Grants> Grants for std::sync::Arc<G> {
    fn grant(&self, user_id: &str, app_id: &str) -> Option<(DecodingKey, Scopes)> {
        (**self).grant(user_id, app_id)
    }
}

#[derive(Debug)]
pub struct GrantedVerifier<G> {
    grants: G,
    validation: Validation,
}

impl<G: Grants> GrantedVerifier<G> {
    pub fn new(grants: G) -> Self {
        Self {
            grants,
            validation: validation(),
        }
    }
}

impl<G: Grants> TokenVerifier for GrantedVerifier<G> {
    fn verify(&self, token: &str) -> Result<Caller, AuthError> {
        verify_rs256(token, &self.validation, |claims| {
            self.grants
                .grant(&claims.sub, &claims.iss)
                .ok_or(AuthError::BadSignature)
        })
    }
}

/// The operator's apps first (the key directory), then the apps users authorized.
#[derive(Debug)]
pub struct OperatorThenGranted<A, B> {
    pub operator: A,
    pub granted: B,
}

impl<A: TokenVerifier, B: TokenVerifier> TokenVerifier for OperatorThenGranted<A, B> {
    fn verify(&self, token: &str) -> Result<Caller, AuthError> {
        match self.operator.verify(token) {
            Err(AuthError::UnknownApp) => self.granted.verify(token),
            other => other,
        }
    }
}
