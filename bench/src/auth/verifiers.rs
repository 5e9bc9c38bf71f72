//! The three verifiers compared, and the users and tokens of the load.
//!
//! `cached` and `uncached` are the server's chain (app/src/startup.rs `verifier`) over an
//! in-memory store of grants shaped like the server's (`GrantCache`: a map behind a read-write
//! lock); `bare` checks nothing and exists only here, to measure produce alone.

use balados_auth::{
    AppGrant, AuthError, CachedVerifier, Caller, Claims, GrantedVerifier, Grants,
    OperatorThenGranted, Scopes, StaticKeyVerifier, TokenVerifier,
};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// The app every user of the load authorized.
pub const APP: &str = "bench-app";

/// Verified tokens the cache remembers at once, as the server configures it.
const VERIFIED_TOKENS: usize = 100_000;

/// Grants held in memory, keyed by (user, app), as the server's store keeps them once read.
#[derive(Debug, Default)]
pub struct MemoryGrants {
    grants: RwLock<HashMap<(String, String), AppGrant>>,
}

impl MemoryGrants {
    pub fn insert(&self, user: &str, app: &str, grant: AppGrant) {
        self.grants
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert((user.to_owned(), app.to_owned()), grant);
    }
}

impl Grants for MemoryGrants {
    fn grant(&self, user_id: &str, app_id: &str) -> Option<AppGrant> {
        self.grants
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(user_id.to_owned(), app_id.to_owned()))
            .cloned()
    }
}

/// Takes the bearer token as the user id and grants every scope: no JWT at all.
#[derive(Debug)]
pub struct Bare;

impl TokenVerifier for Bare {
    fn verify(&self, token: &str) -> Result<Caller, AuthError> {
        Ok(Caller {
            user_id: token.to_owned(),
            app_id: APP.to_owned(),
            device_id: None,
            device_name: None,
            scopes: Scopes::everything(),
            expires_at: i64::MAX,
            grant_version: None,
        })
    }
}

/// Who the load plays as: per user, the token the `bare` variant takes (the user id) and the
/// token the app signed for it (one per user, reused for every request, as apps do).
#[derive(Debug)]
pub struct Users {
    pub ids: Vec<String>,
    pub signed: Vec<String>,
    pub grants: Arc<MemoryGrants>,
}

impl Users {
    /// `count` users of run `run`, each having authorized [`APP`] (every scope, version 1), and
    /// a token for each, valid for an hour.
    pub fn new(run: &str, count: usize) -> anyhow::Result<Self> {
        let (private, public) = balados_auth::generate_app_keys()?;
        let key = balados_auth::public_key(&public)?;
        let grants = Arc::new(MemoryGrants::default());
        let now = chrono::Utc::now().timestamp();
        let (mut ids, mut signed) = (Vec::new(), Vec::new());
        for n in 0..count {
            let user = format!("authbench-{run}-{n}");
            grants.insert(
                &user,
                APP,
                AppGrant {
                    key: key.clone(),
                    scopes: Scopes::everything(),
                    version: Some(1),
                },
            );
            let claims = Claims {
                iss: APP.into(),
                sub: user.clone(),
                exp: now + 3600,
                iat: Some(now),
                device_id: None,
                device_name: None,
            };
            signed.push(balados_auth::mint_token(private.as_bytes(), &claims)?);
            ids.push(user);
        }
        Ok(Self {
            ids,
            signed,
            grants,
        })
    }
}

/// The server's chain without the cache: no operator keys, then the users' grants.
pub fn uncached(grants: Arc<MemoryGrants>) -> Arc<dyn TokenVerifier> {
    Arc::new(OperatorThenGranted {
        operator: StaticKeyVerifier::new(HashMap::new()),
        granted: GrantedVerifier::new(grants),
    })
}

/// The server's chain as it runs by default: verified tokens remembered.
pub fn cached(grants: Arc<MemoryGrants>) -> Arc<dyn TokenVerifier> {
    Arc::new(CachedVerifier::new(uncached(grants), VERIFIED_TOKENS))
}
