//! Token verification: the cases the API must tell apart. The fixtures are throwaway keys made
//! for these tests only.

use balados_auth::{AuthError, Claims, StaticKeyVerifier, TokenVerifier, bearer, mint_token};
use std::path::Path;

const KEY: &[u8] = include_bytes!("fixtures/private/test-app.key.pem");
const OTHER_KEY: &[u8] = include_bytes!("fixtures/private/other.key.pem");

fn verifier() -> StaticKeyVerifier {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"));
    let verifier = StaticKeyVerifier::from_dir(dir).expect("loads");
    assert_eq!(
        verifier.app_count(),
        1,
        "one key file per app: test-app.pem"
    );
    verifier
}

fn claims(exp_offset_s: i64) -> Claims {
    let now = chrono::Utc::now().timestamp();
    Claims {
        iss: "test-app".into(),
        sub: "user-1".into(),
        exp: now + exp_offset_s,
        iat: Some(now),
        device_id: Some("phone".into()),
        device_name: None,
    }
}

#[test]
fn a_valid_token_names_the_user_app_and_device() {
    let token = mint_token(KEY, &claims(300)).expect("mints");
    let caller = verifier().verify(&token).expect("valid");
    assert_eq!(
        (caller.user_id.as_str(), caller.app_id.as_str()),
        ("user-1", "test-app")
    );
    assert_eq!(caller.device_id.as_deref(), Some("phone"));
}

#[test]
fn an_expired_token_is_refused() {
    let token = mint_token(KEY, &claims(-3600)).expect("mints");
    assert_eq!(verifier().verify(&token), Err(AuthError::Expired));
}

#[test]
fn a_token_signed_with_another_key_is_refused() {
    let token = mint_token(OTHER_KEY, &claims(300)).expect("mints");
    assert_eq!(verifier().verify(&token), Err(AuthError::BadSignature));
}

#[test]
fn a_token_from_an_unknown_app_is_refused() {
    let mut c = claims(300);
    c.iss = "stranger".into();
    let token = mint_token(KEY, &c).expect("mints");
    assert_eq!(verifier().verify(&token), Err(AuthError::UnknownApp));
}

#[test]
fn garbage_and_hs256_tokens_are_refused() {
    assert_eq!(verifier().verify("not.a.jwt"), Err(AuthError::Malformed));
    let hs = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims(300),
        &jsonwebtoken::EncodingKey::from_secret(b"secret"),
    )
    .expect("mints");
    assert_eq!(verifier().verify(&hs), Err(AuthError::InvalidClaims));
}

#[test]
fn bearer_header_parsing() {
    assert_eq!(bearer(Some("Bearer abc")), Ok("abc"));
    assert_eq!(bearer(Some("bearer  abc ")), Ok("abc"));
    assert_eq!(bearer(None), Err(AuthError::Missing));
    assert_eq!(bearer(Some("Basic abc")), Err(AuthError::Malformed));
    assert_eq!(bearer(Some("Bearer ")), Err(AuthError::Malformed));
}
