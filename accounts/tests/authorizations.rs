//! Apps authorized by their users, against the real PostgreSQL: a token signed by the app is
//! verified with the key it registered and carries the scopes the user granted (never the
//! token's); an app the user has not authorized, or revoked, gets the answer of a bad signature.

use balados_accounts::{Accounts, Authorizations, GrantCache};
use balados_auth::{
    AuthError, Claims, GrantedVerifier, Permission, Scopes, TokenVerifier, mint_token,
};
use std::sync::Arc;

mod support;

const PUBLIC: &str = include_str!("../../auth/tests/fixtures/test-app.pem");
const PRIVATE: &[u8] = include_bytes!("../../auth/tests/fixtures/private/test-app.key.pem");
const OTHER_PRIVATE: &[u8] = include_bytes!("../../auth/tests/fixtures/private/other.key.pem");

fn token(key: &[u8], user: &str, app: &str) -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = Claims {
        iss: app.into(),
        sub: user.into(),
        exp: now + 300,
        iat: Some(now),
        device_id: None,
        device_name: None,
    };
    mint_token(key, &claims).expect("mints")
}

#[tokio::test]
async fn an_authorized_app_holds_what_the_user_granted_until_revoked() {
    let pool = support::fresh_database().await;
    let accounts = Accounts::new(pool.clone());
    accounts.migrate().await.expect("migrate");
    let ann = support::account(&accounts, "ann").await;
    let authorizations = Authorizations::new(pool.clone());
    let granted = Scopes::parse("user.plays user.subscriptions.read").expect("scopes");
    authorizations
        .authorize(&ann.user_id, ("podapp", "Pod App", PUBLIC), &granted)
        .await
        .expect("authorized");
    assert!(matches!(
        authorizations
            .authorize(&ann.user_id, ("bad", "Bad", "not a key"), &granted)
            .await,
        Err(balados_accounts::AuthorizationError::BadKey(_))
    ));
    let cache = Arc::new(GrantCache::default());
    cache.refresh(&pool).await.expect("refresh");
    let verifier = GrantedVerifier::new(cache.clone());

    let caller = verifier
        .verify(&token(PRIVATE, &ann.user_id, "podapp"))
        .expect("verified");
    assert_eq!(caller.scopes, granted, "the user's grant, not the token's");
    assert!(caller.scopes.allows(Permission::Data(
        balados_auth::Area::Plays,
        balados_auth::Access::Write
    )));
    assert!(!caller.scopes.allows(Permission::Sync));
    // Another key, another user, an app never authorized: one answer.
    for refused in [
        token(OTHER_PRIVATE, &ann.user_id, "podapp"),
        token(PRIVATE, "someone-else", "podapp"),
        token(PRIVATE, &ann.user_id, "unknown-app"),
    ] {
        assert_eq!(verifier.verify(&refused), Err(AuthError::BadSignature));
    }

    authorizations
        .revoke(&ann.user_id, "podapp")
        .await
        .expect("revoked");
    assert!(
        authorizations
            .list(&ann.user_id)
            .await
            .expect("list")
            .is_empty()
    );
    cache.refresh(&pool).await.expect("refresh");
    assert_eq!(
        verifier.verify(&token(PRIVATE, &ann.user_id, "podapp")),
        Err(AuthError::BadSignature),
        "refused once the cache has read the revocation"
    );
    // Authorizing again lifts it.
    authorizations
        .authorize(
            &ann.user_id,
            ("podapp", "Pod App", PUBLIC),
            &Scopes::everything(),
        )
        .await
        .expect("authorized");
    cache.refresh(&pool).await.expect("refresh");
    assert!(
        verifier
            .verify(&token(PRIVATE, &ann.user_id, "podapp"))
            .is_ok()
    );
}
