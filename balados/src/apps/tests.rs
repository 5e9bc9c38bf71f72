//! The `app` commands without any service: key pairs that sign what the server verifies, requests
//! checked before they are printed, token lifetimes bounded.

use super::*;
use balados_auth::{StaticKeyVerifier, TokenVerifier as _};
use std::os::unix::fs::PermissionsExt as _;

/// A directory of its own, removed when the test ends.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        Self(std::env::temp_dir().join(format!("balados-apps-{}", uuid::Uuid::new_v4())))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .expect("written")
        .permissions()
        .mode()
        & 0o777
}

fn sign_args(key: PathBuf, ttl_hours: i64) -> SignArgs {
    SignArgs {
        key,
        app: "my-app".into(),
        user: "ann".into(),
        device_id: Some("phone-1".into()),
        device_name: Some("Ann's phone".into()),
        ttl_hours,
    }
}

fn authorize_args(key: PathBuf) -> AuthorizeArgs {
    AuthorizeArgs {
        key,
        public_key: None,
        app: "my-app".into(),
        name: "My App".into(),
        url: "https://app.example".into(),
        image: Some("https://app.example/icon.png".into()),
        redirect_uri: Some("https://app.example/back".into()),
        state: Some("xyz".into()),
        scopes: "user.plays user.subscriptions".into(),
        server: "http://127.0.0.1:8080/".into(),
    }
}

#[test]
fn keygen_writes_a_private_key_for_its_owner_only_and_the_public_key_verifying_its_tokens() {
    let dir = Scratch::new();
    let out = dir.0.join("keys");
    let (private, public) = keygen(&out, "my-app", false).expect("generated");
    assert_eq!(private, out.join("my-app.key.pem"));
    assert_eq!(public, out.join("my-app.pem"));
    assert_eq!(mode(&private), 0o600);
    let now = chrono::Utc::now().timestamp();
    let token = sign_token(&sign_args(private, 24), now).expect("signed");
    let key = balados_auth::DecodingKey::from_rsa_pem(&std::fs::read(&public).expect("read"))
        .expect("a public key");
    let verifier = StaticKeyVerifier::new([("my-app".to_owned(), key)].into());
    let caller = verifier.verify(&token).expect("verified");
    assert_eq!(
        (caller.user_id.as_str(), caller.app_id.as_str()),
        ("ann", "my-app")
    );
    assert_eq!(caller.device_name.as_deref(), Some("Ann's phone"));
    assert_eq!(caller.expires_at, now + 24 * 3600);
}

#[test]
fn keygen_replaces_an_existing_pair_only_when_forced_and_keeps_the_private_key_private() {
    let dir = Scratch::new();
    let (private, public) = keygen(&dir.0, "my-app", false).expect("generated");
    let first = std::fs::read(&private).expect("read");
    std::fs::remove_file(&private).expect("removed");
    // Half a pair left: still refused, and nothing written.
    let refused = keygen(&dir.0, "my-app", false).expect_err("public key exists");
    assert!(refused.to_string().contains("--force"), "{refused}");
    assert!(!private.exists());
    std::fs::write(&private, &first).expect("restored");
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    keygen(&dir.0, "my-app", true).expect("forced");
    assert_ne!(std::fs::read(&private).expect("read"), first);
    assert_eq!(mode(&private), 0o600);
    assert!(public.exists());
    for bad in ["", "../up", "a/b", &"x".repeat(101)] {
        assert!(keygen(&dir.0, bad, false).is_err(), "{bad:?}");
    }
}

#[test]
fn authorize_url_carries_a_request_the_server_verifies() {
    let dir = Scratch::new();
    let (private, public) = keygen(&dir.0, "my-app", false).expect("generated");
    let now = chrono::Utc::now().timestamp();
    let url = authorize_url(&authorize_args(private), now).expect("built");
    let token = url
        .strip_prefix("http://127.0.0.1:8080/authorize?token=")
        .expect("on the server's /authorize");
    let verified = balados_auth::request::verify_request(token, now).expect("verified");
    let request = verified.request;
    assert_eq!(
        (request.iss.as_str(), request.app.name.as_str()),
        ("my-app", "My App")
    );
    assert_eq!(
        request.app.public_key,
        std::fs::read_to_string(public).expect("read")
    );
    assert_eq!(request.scopes, "user.plays user.subscriptions");
    assert_eq!(request.state.as_deref(), Some("xyz"));
    assert_eq!(request.exp - request.iat, REQUEST_LIFETIME_SECS);
}

#[test]
fn authorize_url_reports_what_the_server_would_refuse() {
    let dir = Scratch::new();
    let (private, _) = keygen(&dir.0, "my-app", false).expect("generated");
    let (_, other_public) = keygen(&dir.0, "other", false).expect("generated");
    let now = chrono::Utc::now().timestamp();
    let refusal = |args: AuthorizeArgs| authorize_url(&args, now).expect_err("refused").to_string();
    let mut elsewhere = authorize_args(private.clone());
    elsewhere.redirect_uri = Some("https://evil.example/".into());
    assert!(refusal(elsewhere).contains("invalid_redirect"));
    let mut mismatched = authorize_args(private.clone());
    mismatched.public_key = Some(other_public);
    assert!(refusal(mismatched).contains("invalid_signature"));
    let mut unknown = authorize_args(private.clone());
    unknown.scopes = "user.everything".into();
    assert!(refusal(unknown).contains("invalid_scope"));
    let mut unnamed = authorize_args(dir.0.join("my-app.private"));
    unnamed.public_key = None;
    assert!(refusal(unnamed).contains("--public-key"));
}

#[test]
fn sign_token_refuses_lifetimes_the_server_refuses() {
    let dir = Scratch::new();
    let (private, _) = keygen(&dir.0, "my-app", false).expect("generated");
    let now = chrono::Utc::now().timestamp();
    sign_token(&sign_args(private.clone(), 31 * 24), now).expect("31 days");
    for hours in [0, -1, 31 * 24 + 1] {
        let refused = sign_token(&sign_args(private.clone(), hours), now).expect_err("refused");
        assert!(refused.to_string().contains("--ttl-hours"), "{refused}");
    }
    let mut nobody = sign_args(private, 24);
    nobody.user = String::new();
    assert!(sign_token(&nobody, now).is_err());
}
