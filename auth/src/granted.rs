//! Apps authorized by their users: each (user, app) has the public key the app registered and the
//! scopes the user granted, kept by a store ([`Grants`]); the token says who it is for, the store
//! says whether and how much. An app the user has not authorized (or revoked) gets the same answer
//! as a bad signature, so that a caller cannot tell which apps a user authorized.

use crate::Scopes;
use crate::keys::{validation, verify_rs256};
use crate::{AuthError, Caller, TokenVerifier};
use jsonwebtoken::{DecodingKey, Validation};

/// What a user granted an app: the key it registered, the scopes, and which version of the
/// authorization this is (each change makes a new one; `None` for the operator's apps).
#[derive(Clone)]
pub struct AppGrant {
    pub key: DecodingKey,
    pub scopes: Scopes,
    pub version: Option<i64>,
}

impl std::fmt::Debug for AppGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppGrant")
            .field("scopes", &self.scopes)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// Where the keys and grants of user-authorized apps are kept.
pub trait Grants: Send + Sync + std::fmt::Debug {
    /// What `user_id` granted `app_id`; `None` when the user has not authorized the app, or
    /// revoked it.
    fn grant(&self, user_id: &str, app_id: &str) -> Option<AppGrant>;
}

/// A store shared with whatever keeps it current.
impl<G: Grants> Grants for std::sync::Arc<G> {
    fn grant(&self, user_id: &str, app_id: &str) -> Option<AppGrant> {
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

    /// Holds while the authorization that verified the token is the current one: a revocation
    /// ends it at once, a new key sends the token to a full verification.
    fn revalidate(&self, remembered: &Caller) -> Option<Caller> {
        let grant = self.grants.grant(&remembered.user_id, &remembered.app_id)?;
        (grant.version == remembered.grant_version).then(|| Caller {
            scopes: grant.scopes,
            ..remembered.clone()
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

    fn revalidate(&self, remembered: &Caller) -> Option<Caller> {
        match remembered.grant_version {
            None => self.operator.revalidate(remembered),
            Some(_) => self.granted.revalidate(remembered),
        }
    }
}
