//! The gpodder router in process (`oneshot`), for what needs no database: the Basic challenge
//! before anything is read or produced, log-out without a session. Everything that reads the
//! accounts or the read models is covered end to end (tests/e2e/gpodder.rs).

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use balados_gpodder::{GpodderState, REALM, router};
use balados_ingest::{CommandSink, IngestState, ProduceError, Replies};
use balados_schemas::CommandEnvelope;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tower::ServiceExt as _;

/// Keeps what would be produced.
#[derive(Debug, Default)]
struct Recorder(Mutex<Vec<CommandEnvelope>>);

impl CommandSink for Recorder {
    fn send<'a>(
        &'a self,
        command: &'a CommandEnvelope,
    ) -> futures::future::BoxFuture<'a, Result<(), ProduceError>> {
        Box::pin(async move {
            self.0.lock().expect("not poisoned").push(command.clone());
            Ok(())
        })
    }
}

#[derive(Debug)]
struct NoTokens;

impl balados_auth::TokenVerifier for NoTokens {
    fn verify(&self, _: &str) -> Result<balados_auth::Caller, balados_auth::AuthError> {
        Err(balados_auth::AuthError::Malformed)
    }
}

/// The router over a database that is never reached (a request that needs it would fail).
fn app(recorder: Arc<Recorder>) -> axum::Router {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(Duration::from_millis(100))
        .connect_lazy("postgres://nobody:nothing@127.0.0.1:1/none")
        .expect("a lazy pool");
    let ingest = IngestState {
        producer: recorder,
        verifier: Arc::new(NoTokens),
        metrics: balados_platform::metrics::Metrics::default(),
        replies: Replies::local("test-gpodder".into()),
        writes: None,
    };
    let consistency = balados_query_api::Consistency::start(
        pool.clone(),
        "materializer".into(),
        "events".into(),
        Duration::from_millis(100),
    );
    router(GpodderState::new(
        pool.clone(),
        pool,
        ingest,
        consistency,
        false,
    ))
}

async fn send(
    app: axum::Router,
    request: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, serde_json::Value) {
    let response = app.oneshot(request).await.expect("answers");
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20).await.expect("body");
    let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (parts.status, parts.headers, json)
}

#[tokio::test]
async fn every_route_without_credentials_is_challenged_before_its_body_is_read() {
    let recorder = Arc::new(Recorder::default());
    for (method, path) in [
        ("GET", "/api/2/devices/alice.json"),
        ("POST", "/api/2/devices/alice/phone.json"),
        ("PUT", "/api/2/devices/alice/phone.json"),
        ("GET", "/api/2/subscriptions/alice/phone.json?since=0"),
        ("POST", "/api/2/subscriptions/alice/phone.json"),
        ("GET", "/subscriptions/alice.opml"),
        ("GET", "/subscriptions/alice/phone.txt"),
        ("PUT", "/subscriptions/alice/phone.json"),
        ("POST", "/api/2/auth/alice/login.json"),
        ("GET", "/index.php/apps/gpoddersync/subscriptions?since=0"),
        (
            "POST",
            "/index.php/apps/gpoddersync/subscription_change/create",
        ),
        ("GET", "/index.php/apps/gpoddersync/episode_action?since=0"),
        ("POST", "/index.php/apps/gpoddersync/episode_action/create"),
    ] {
        let request = Request::builder()
            .method(method)
            .uri(path)
            // Not JSON: refused for the credentials first, never for the body.
            .body(Body::from("{not json"))
            .expect("request");
        let (status, headers, body) = send(app(recorder.clone()), request).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}");
        assert_eq!(
            headers
                .get(header::WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok()),
            Some(REALM),
            "{method} {path}"
        );
        assert_eq!(body["code"], "unauthorized", "{method} {path}");
    }
    assert!(recorder.0.lock().expect("not poisoned").is_empty());
}

#[tokio::test]
async fn malformed_basic_credentials_are_challenged() {
    let request = Request::builder()
        .uri("/api/2/devices/alice.json")
        .header(header::AUTHORIZATION, "Basic not-base64!")
        .body(Body::empty())
        .expect("request");
    let (status, headers, _) = send(app(Arc::default()), request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(headers.contains_key(header::WWW_AUTHENTICATE));
}

#[tokio::test]
async fn logging_out_without_a_session_is_fine_and_clears_the_cookie() {
    let request = Request::builder()
        .method("POST")
        .uri("/api/2/auth/alice/logout.json")
        .body(Body::empty())
        .expect("request");
    let (status, headers, _) = send(app(Arc::default()), request).await;
    assert_eq!(status, StatusCode::OK);
    let cookie = headers
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .expect("a cookie");
    assert!(
        cookie.starts_with("sessionid=;") && cookie.contains("Max-Age=0"),
        "{cookie}"
    );
}

#[tokio::test]
async fn the_nextcloud_routes_never_take_a_cookie() {
    // A gpodder session cookie logs in on the gpodder routes; here only Basic does (and no
    // database is reached to find out).
    let request = Request::builder()
        .uri("/index.php/apps/gpoddersync/subscriptions")
        .header(header::COOKIE, "sessionid=abc")
        .body(Body::empty())
        .expect("request");
    let (status, headers, _) = send(app(Arc::default()), request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(headers.contains_key(header::WWW_AUTHENTICATE));
}

#[tokio::test]
async fn a_login_flow_poll_with_a_token_we_never_issued_is_404_without_a_query() {
    for body in [
        "",
        "token=",
        "token=short",
        &format!("token={}", "x".repeat(5000)),
    ] {
        let request = Request::builder()
            .method("POST")
            .uri("/index.php/login/v2/poll")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body.to_owned()))
            .expect("request");
        let (status, _, _) = send(app(Arc::default()), request).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body:.20}");
    }
}

#[tokio::test]
async fn a_write_from_another_sites_page_is_refused_before_its_credentials_are_read() {
    for path in [
        "/api/2/subscriptions/alice/phone.json",
        "/api/2/episodes/alice.json",
        "/index.php/apps/gpoddersync/episode_action/create",
    ] {
        let request = Request::builder()
            .method("POST")
            .uri(path)
            .header(header::AUTHORIZATION, "Basic YWxpY2U6c2VjcmV0")
            .header("sec-fetch-site", "cross-site")
            .body(Body::from("[]"))
            .expect("request");
        let (status, _, body) = send(app(Arc::default()), request).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(body["code"], "cross_site_request", "{path}: {body}");
    }
}
