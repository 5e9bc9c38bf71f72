//! Forged and abusive tokens, each refused with its documented error; and the keys an app may
//! register. The fixtures are throwaway keys made for these tests only.

use balados_auth::{
    AuthError, Claims, KeyError, MAX_TOKEN_LIFETIME_SECS, StaticKeyVerifier, TokenVerifier,
    generate_app_keys, mint_token, public_key,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use std::collections::HashMap;

const KEY: &[u8] = include_bytes!("fixtures/private/test-app.key.pem");
const PUBLIC: &str = include_str!("fixtures/test-app.pem");

fn verifier() -> StaticKeyVerifier {
    let key = public_key(PUBLIC).expect("a 2048-bit RSA key");
    StaticKeyVerifier::new(HashMap::from([("test-app".to_owned(), key)]))
}

fn claims(exp_offset_s: i64) -> serde_json::Value {
    let now = chrono::Utc::now().timestamp();
    serde_json::json!({"iss": "test-app", "sub": "user-1", "iat": now, "exp": now + exp_offset_s})
}

fn signed(claims: &serde_json::Value) -> String {
    let claims: Claims = serde_json::from_value(claims.clone()).expect("claims");
    mint_token(KEY, &claims).expect("mints")
}

/// A token of the given header and payload, signed with nothing or with `signature`.
fn forged(header: &serde_json::Value, payload: &serde_json::Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        B64.encode(header.to_string()),
        B64.encode(payload.to_string()),
        B64.encode(signature)
    )
}

#[test]
fn alg_none_is_refused() {
    let token = forged(
        &serde_json::json!({"alg": "none", "typ": "JWT"}),
        &claims(300),
        b"",
    );
    assert!(matches!(
        verifier().verify(&token),
        Err(AuthError::Malformed | AuthError::InvalidClaims)
    ));
}

#[test]
fn hs256_signed_with_the_public_key_as_secret_is_refused() {
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims(300),
        &jsonwebtoken::EncodingKey::from_secret(PUBLIC.as_bytes()),
    )
    .expect("mints");
    assert_eq!(verifier().verify(&token), Err(AuthError::InvalidClaims));
}

#[test]
fn a_tampered_payload_breaks_the_signature() {
    let token = signed(&claims(300));
    let parts: Vec<&str> = token.split('.').collect();
    let mut other = claims(300);
    other["sub"] = "someone-else".into();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        B64.encode(other.to_string()),
        parts[2]
    );
    assert_eq!(verifier().verify(&tampered), Err(AuthError::BadSignature));
    assert_eq!(
        verifier().verify(&token).expect("the original").user_id,
        "user-1"
    );
}

#[test]
fn lifetimes_are_bounded_and_nbf_honoured() {
    assert_eq!(
        verifier().verify(&signed(&claims(-120))),
        Err(AuthError::Expired)
    );
    assert_eq!(
        verifier().verify(&signed(&claims(MAX_TOKEN_LIFETIME_SECS + 3600))),
        Err(AuthError::TooLong)
    );
    assert!(
        verifier()
            .verify(&signed(&claims(MAX_TOKEN_LIFETIME_SECS - 60)))
            .is_ok()
    );

    let mut missing_exp = claims(300);
    missing_exp.as_object_mut().expect("object").remove("exp");
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
        &missing_exp,
        &jsonwebtoken::EncodingKey::from_rsa_pem(KEY).expect("key"),
    )
    .expect("mints");
    assert!(verifier().verify(&token).is_err(), "exp is required");

    let mut later = claims(3600);
    later["nbf"] = (chrono::Utc::now().timestamp() + 600).into();
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
        &later,
        &jsonwebtoken::EncodingKey::from_rsa_pem(KEY).expect("key"),
    )
    .expect("mints");
    assert_eq!(
        verifier().verify(&token),
        Err(AuthError::InvalidClaims),
        "not yet valid"
    );
}

#[test]
fn malformed_and_huge_tokens_are_refused_without_decoding() {
    for token in ["", ".", "..", "a.b.c", "{}.{}.{}", "\u{0}\u{1}"] {
        assert!(verifier().verify(token).is_err(), "{token:?}");
    }
    let huge = format!(
        "{}.{}.{}",
        "e".repeat(5_000),
        "e".repeat(5_000),
        "e".repeat(5_000)
    );
    assert_eq!(verifier().verify(&huge), Err(AuthError::Malformed));
}

#[test]
fn only_rsa_keys_of_2048_bits_or_more_may_be_registered() {
    assert!(public_key(PUBLIC).is_ok());
    assert_eq!(
        public_key(include_str!("fixtures/refused/weak-1024.pem")).err(),
        Some(KeyError::TooSmall(1024))
    );
    assert_eq!(
        public_key(include_str!("fixtures/refused/ec-p256.pem")).err(),
        Some(KeyError::NotRsa)
    );
    assert_eq!(public_key("not a key").err(), Some(KeyError::NotPem));
}

#[test]
fn a_generated_key_pair_signs_tokens_its_public_half_verifies() {
    let (private, public) = generate_app_keys().expect("generates");
    let verifier = StaticKeyVerifier::new(HashMap::from([(
        "test-app".to_owned(),
        public_key(&public).expect("registrable"),
    )]));
    let claims: Claims = serde_json::from_value(claims(300)).expect("claims");
    let token = mint_token(private.as_bytes(), &claims).expect("signs");
    assert_eq!(verifier.verify(&token).expect("verified").user_id, "user-1");
}
