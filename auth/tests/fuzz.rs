//! Property tests of bearer-token handling, fed arbitrary and forged input: whatever a client
//! sends as `Authorization`, the header parser and the verifier refuse it with an error, never a
//! panic, and nothing but an unaltered token signed by a known app's key is ever accepted.
//! `PROPTEST_CASES=100000 cargo test -p balados-auth --test fuzz` runs longer.

use balados_auth::{Claims, StaticKeyVerifier, TokenVerifier, bearer, mint_token};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proptest::prelude::*;
use std::path::Path;
use std::sync::LazyLock;

const KEY: &[u8] = include_bytes!("fixtures/private/test-app.key.pem");

static VERIFIER: LazyLock<StaticKeyVerifier> = LazyLock::new(|| {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"));
    StaticKeyVerifier::from_dir(dir).expect("loads")
});

/// One valid token, minted once (signing costs milliseconds).
static TOKEN: LazyLock<String> = LazyLock::new(|| {
    let now = chrono::Utc::now().timestamp();
    let claims = Claims {
        iss: "test-app".into(),
        sub: "user-1".into(),
        exp: now + 3600,
        iat: Some(now),
        device_id: None,
        device_name: None,
    };
    mint_token(KEY, &claims).expect("mints")
});

/// A JSON object of the fields a JWT header or claims set may have, with values of any kind.
fn json_object() -> impl Strategy<Value = String> {
    let key = prop::sample::select(vec![
        "alg",
        "typ",
        "kid",
        "iss",
        "sub",
        "exp",
        "iat",
        "nbf",
        "device_id",
        "crit",
        "x",
    ]);
    let value = prop_oneof![
        prop::sample::select(vec![
            "\"RS256\"",
            "\"none\"",
            "\"HS256\"",
            "\"test-app\"",
            "null",
            "[]",
            "{}",
            "1e400",
        ])
        .prop_map(str::to_owned),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<String>().prop_map(|s| serde_json_string(&s)),
    ];
    prop::collection::vec((key, value), 0..6).prop_map(|fields| {
        let body: Vec<String> = fields.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
        format!("{{{}}}", body.join(","))
    })
}

/// `s` as a JSON string literal.
fn serde_json_string(s: &str) -> String {
    let escaped: String = s
        .chars()
        .map(|c| match c {
            '"' => "\\\"".to_owned(),
            '\\' => "\\\\".to_owned(),
            c if c.is_control() => format!("\\u{:04x}", u32::from(c)),
            c => c.to_string(),
        })
        .collect();
    format!("\"{escaped}\"")
}

/// A token shaped like a JWT: three base64url segments, the first two JSON (or not quite).
fn forged() -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        json_object().prop_map(|j| URL_SAFE_NO_PAD.encode(j)),
        prop::collection::vec(any::<u8>(), 0..64).prop_map(|b| URL_SAFE_NO_PAD.encode(b)),
        "[A-Za-z0-9_=+/-]{0,40}",
    ];
    (segment.clone(), segment.clone(), segment)
        .prop_map(|(header, claims, signature)| format!("{header}.{claims}.{signature}"))
}

proptest! {
    #[test]
    fn any_text_as_a_token_is_refused(token in any::<String>()) {
        prop_assert!(VERIFIER.verify(&token).is_err());
    }

    #[test]
    fn a_forged_token_is_refused(token in forged()) {
        prop_assert!(VERIFIER.verify(&token).is_err(), "{}", token);
    }

    #[test]
    fn a_valid_token_altered_anywhere_is_refused(at: usize, with in "[ -~]", cut: bool) {
        let token: &str = &TOKEN;
        let at = at % token.len();
        let altered = if cut {
            token[..at].to_owned()
        } else {
            format!("{}{with}{}", &token[..at], &token[at + 1..])
        };
        if altered != token {
            prop_assert!(VERIFIER.verify(&altered).is_err(), "{}", altered);
        }
    }

    #[test]
    fn any_authorization_header_gives_a_trimmed_token_or_an_error(header in any::<Option<String>>()) {
        let header = header.as_deref();
        if let Ok(token) = bearer(header) {
            let scheme = header.and_then(|h| h.get(..7));
            prop_assert!(scheme.is_some_and(|s| s.eq_ignore_ascii_case("bearer ")));
            prop_assert!(!token.is_empty() && token.trim() == token);
        }
    }
}

#[test]
fn the_unaltered_token_is_accepted() {
    // Without this, the properties above would also pass with a verifier that refuses everything.
    let caller = VERIFIER.verify(&TOKEN).expect("valid");
    assert_eq!(caller.user_id, "user-1");
}
