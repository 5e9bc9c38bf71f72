//! Authorization requests: signed by the key they carry, bounded, and returning the user only to
//! the app's own origin.

use balados_auth::request::{
    AppInfo, AuthorizationRequest, RequestError, origin, sign_request, verify_request,
};

const KEY: &[u8] = include_bytes!("fixtures/private/test-app.key.pem");
const OTHER_KEY: &[u8] = include_bytes!("fixtures/private/other.key.pem");
const PUBLIC: &str = include_str!("fixtures/test-app.pem");
const NOW: i64 = 1_800_000_000;

fn request() -> AuthorizationRequest {
    AuthorizationRequest {
        iss: "podapp".into(),
        app: AppInfo {
            name: "Pod App".into(),
            url: "https://podapp.example".into(),
            image: None,
            public_key: PUBLIC.into(),
        },
        scopes: "user.plays user.subscriptions.read".into(),
        redirect_uri: Some("https://podapp.example/callback".into()),
        state: Some("xyz".into()),
        iat: NOW,
        exp: NOW + 600,
    }
}

fn verify(request: &AuthorizationRequest, key: &[u8]) -> Result<(), RequestError> {
    verify_request(&sign_request(key, request).expect("signs"), NOW).map(|_| ())
}

#[test]
fn a_request_signed_by_the_key_it_carries_is_accepted() {
    let verified = verify_request(&sign_request(KEY, &request()).expect("signs"), NOW).expect("ok");
    assert_eq!(verified.request.iss, "podapp");
    assert_eq!(
        verified.scopes.to_string(),
        "user.plays user.subscriptions.read"
    );
}

#[test]
fn forged_expired_and_open_redirect_requests_are_refused() {
    assert_eq!(verify(&request(), OTHER_KEY), Err(RequestError::Signature));
    let mut r = request();
    r.exp = NOW - 1;
    assert_eq!(verify(&r, KEY), Err(RequestError::Lifetime));
    r.exp = NOW + 7200;
    assert_eq!(
        verify(&r, KEY),
        Err(RequestError::Lifetime),
        "lives too long"
    );
    for redirect in [
        "https://evil.example/callback",
        "https://podapp.example.evil.example/",
        "https://podapp.example@evil.example/",
        "http://podapp.example/callback",
        "javascript:alert(1)",
        "//evil.example",
    ] {
        let mut r = request();
        r.redirect_uri = Some(redirect.into());
        assert_eq!(verify(&r, KEY), Err(RequestError::Redirect), "{redirect}");
    }
    let mut r = request();
    r.scopes = "user.everything".into();
    assert!(matches!(verify(&r, KEY), Err(RequestError::Scopes(_))));
    let mut r = request();
    r.iss = "a b".into();
    assert_eq!(verify(&r, KEY), Err(RequestError::AppId));
    let mut r = request();
    r.app.public_key = include_str!("fixtures/refused/weak-1024.pem").into();
    assert!(matches!(verify(&r, KEY), Err(RequestError::Key(_))));
    assert_eq!(
        verify_request("x.y.z", NOW).err(),
        Some(RequestError::Malformed)
    );
}

#[test]
fn origins_are_https_or_loopback_http() {
    assert_eq!(
        origin("https://Pod.Example:8443/x?y"),
        Some("https://pod.example:8443".into())
    );
    assert_eq!(
        origin("http://127.0.0.1:9000/cb"),
        Some("http://127.0.0.1:9000".into())
    );
    assert_eq!(origin("http://pod.example/"), None);
    assert_eq!(origin("ftp://pod.example/"), None);
    assert_eq!(origin("https://a b/"), None);
}
