//! Forged and abusive tokens through the HTTP layer: each is a 401 with its documented code, and
//! nothing is produced.

use crate::helpers::{Api, b64, feed};
use axum::http::StatusCode;
use base64::Engine as _;
use serde_json::json;

const KEY: &[u8] = include_bytes!("../../../auth/tests/fixtures/private/test-app.key.pem");
const PUBLIC: &[u8] = include_bytes!("../../../auth/tests/fixtures/test-app.pem");

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn encode_part(value: &serde_json::Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
}

/// An RS256 token of the test app over arbitrary claims (so that required ones can be missing).
fn rs256(claims: &serde_json::Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
        claims,
        &jsonwebtoken::EncodingKey::from_rsa_pem(KEY).expect("key"),
    )
    .expect("signs")
}

fn claims(exp_offset: i64) -> serde_json::Value {
    json!({"iss": "test-app", "sub": "mallory", "iat": now(), "exp": now() + exp_offset})
}

#[tokio::test]
async fn forged_and_abusive_tokens_are_refused_with_their_code() {
    let api = Api::new();
    let good = rs256(&claims(300));
    let parts: Vec<&str> = good.split('.').collect();
    let mut other_user = claims(300);
    other_user["sub"] = "ann".into();
    let tampered = format!("{}.{}.{}", parts[0], encode_part(&other_user), parts[2]);
    let alg_none = format!("{}.{}.", encode_part(&json!({"alg": "none"})), parts[1]);
    let hs256 = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims(300),
        &jsonwebtoken::EncodingKey::from_secret(PUBLIC),
    )
    .expect("signs");
    let mut missing_exp = claims(300);
    missing_exp.as_object_mut().expect("object").remove("exp");
    let mut not_yet = claims(3600);
    not_yet["nbf"] = (now() + 600).into();
    let huge = format!(
        "{}.{}.{}",
        "e".repeat(3_000),
        "e".repeat(3_000),
        "e".repeat(3_000)
    );
    let cases = [
        ("tampered payload", tampered, "invalid_signature"),
        ("alg none", alg_none, "malformed_token"),
        (
            "HS256 with the public key as secret",
            hs256,
            "invalid_token",
        ),
        ("missing exp", rs256(&missing_exp), "invalid_token"),
        ("not yet valid", rs256(&not_yet), "invalid_token"),
        ("expired", rs256(&claims(-120)), "token_expired"),
        (
            "lives 40 days",
            rs256(&claims(40 * 86_400)),
            "token_lifetime_too_long",
        ),
        ("huge", huge, "malformed_token"),
    ];
    let body = json!({"rss_source_feed": feed()});
    for (what, token, code) in cases {
        let (status, answer) = api
            .send(
                "POST",
                "/api/v1/subscriptions",
                Some(token),
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {answer}");
        assert_eq!(answer["code"], code, "{what}: {answer}");
        assert!(answer["error"].is_string(), "{what}: {answer}");
    }
    assert!(api.produced().is_empty(), "nothing produced");
    // The untampered token goes through.
    let (status, _) = api
        .send(
            "POST",
            "/api/v1/subscriptions",
            Some(good),
            Some(json!({"rss_source_feed": b64("https://x.example/f")})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
}
