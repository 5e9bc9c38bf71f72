//! The middleware over a small router whose handler counts its runs: what is computed once, what
//! is computed again, and what each client is told.

use super::{Limits, MAX_BODY, MAX_KEY, PublicCache, serve};
use crate::consistency;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Request, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use axum::routing::get;
use balados_platform::metrics::Metrics;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::task::JoinSet;
use tower::ServiceExt as _;

/// The handler's answer and how long it takes; its runs counted.
#[derive(Debug)]
struct Probe {
    runs: AtomicUsize,
    status: StatusCode,
    body: Vec<u8>,
    /// The first run's time (a leader that can be made to hang), then every other's.
    first_delay: Duration,
    delay: Duration,
}

impl Probe {
    fn new(status: StatusCode, delay: Duration) -> Self {
        Self {
            runs: AtomicUsize::new(0),
            status,
            body: br#"{"podcasts":[]}"#.to_vec(),
            first_delay: delay,
            delay,
        }
    }

    fn runs(&self) -> usize {
        self.runs.load(Ordering::SeqCst)
    }
}

async fn handler(State(probe): State<Arc<Probe>>) -> Response {
    let run = probe.runs.fetch_add(1, Ordering::SeqCst);
    let delay = if run == 0 {
        probe.first_delay
    } else {
        probe.delay
    };
    tokio::time::sleep(delay).await;
    (
        probe.status,
        [(header::CONTENT_TYPE, "application/json")],
        probe.body.clone(),
    )
        .into_response()
}

struct App {
    router: Router,
    probe: Arc<Probe>,
    metrics: Metrics,
}

fn app(probe: Probe, ttl_ms: u64) -> App {
    let metrics = Metrics::default();
    let limits = Limits {
        ttl: Duration::from_millis(ttl_ms),
        max_entries: 16,
    };
    let cache = PublicCache::new(limits, &metrics);
    let probe = Arc::new(probe);
    let router = Router::new()
        .route("/p", get(handler))
        .layer(axum::middleware::from_fn_with_state(cache, serve))
        .with_state(probe.clone());
    App {
        router,
        probe,
        metrics,
    }
}

/// Status, headers and body of a GET of `uri` with `headers`.
async fn get_with(
    router: &Router,
    uri: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut request = Request::get(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Body::empty()).expect("a valid request");
    let response = router.clone().oneshot(request).await.expect("infallible");
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .expect("a body");
    (parts.status, parts.headers, body.to_vec())
}

async fn fetch(router: &Router, uri: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
    get_with(router, uri, &[]).await
}

/// The count of `outcome` in the metrics.
fn outcomes(metrics: &Metrics, outcome: &str) -> f64 {
    let line = format!("balados_query_public_cache_total{{outcome=\"{outcome}\"}} ");
    let text = metrics.render();
    let value = text
        .lines()
        .find_map(|l| l.strip_prefix(&line))
        .unwrap_or_else(|| panic!("no {line} in {text}"));
    value.parse().expect("a number")
}

fn header_of(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).map(|v| v.to_str().expect("ASCII"))
}

#[tokio::test]
async fn concurrent_requests_for_one_key_run_the_handler_once() {
    let app = app(
        Probe::new(StatusCode::OK, Duration::from_millis(100)),
        5_000,
    );
    let mut requests = JoinSet::new();
    for _ in 0..20 {
        let router = app.router.clone();
        requests.spawn(async move { fetch(&router, "/p?period=day").await });
    }
    let mut tags = Vec::new();
    while let Some(answer) = requests.join_next().await {
        let (status, headers, body) = answer.expect("not panicked");
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, app.probe.body);
        assert_eq!(
            header_of(&headers, header::CONTENT_TYPE),
            Some("application/json")
        );
        tags.push(header_of(&headers, header::ETAG).map(str::to_owned));
    }
    assert_eq!(app.probe.runs(), 1);
    assert!(
        tags.iter().all(|t| t.is_some() && *t == tags[0]),
        "{tags:?}"
    );
    assert_eq!(outcomes(&app.metrics, "miss"), 1.0);
    assert_eq!(outcomes(&app.metrics, "wait"), 19.0);
    // Later requests are served the kept answer.
    fetch(&app.router, "/p?period=day").await;
    assert_eq!(app.probe.runs(), 1);
    assert_eq!(outcomes(&app.metrics, "hit"), 1.0);
}

#[tokio::test]
async fn an_answer_is_computed_again_once_its_ttl_has_passed() {
    let app = app(Probe::new(StatusCode::OK, Duration::ZERO), 200);
    fetch(&app.router, "/p").await;
    fetch(&app.router, "/p").await;
    assert_eq!(app.probe.runs(), 1);
    tokio::time::sleep(Duration::from_millis(250)).await;
    fetch(&app.router, "/p").await;
    assert_eq!(app.probe.runs(), 2);
    assert_eq!(outcomes(&app.metrics, "miss"), 2.0);
}

#[tokio::test]
async fn distinct_query_strings_are_distinct_answers_and_a_long_one_is_not_kept() {
    let app = app(Probe::new(StatusCode::OK, Duration::ZERO), 5_000);
    fetch(&app.router, "/p?limit=1").await;
    fetch(&app.router, "/p?limit=2").await;
    fetch(&app.router, "/p?limit=1").await;
    assert_eq!(app.probe.runs(), 2);
    let long = format!("/p?x={}", "a".repeat(MAX_KEY));
    let (status, headers, _) = fetch(&app.router, &long).await;
    fetch(&app.router, &long).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.probe.runs(), 4);
    assert_eq!(header_of(&headers, header::CACHE_CONTROL), Some("no-cache"));
    assert!(headers.contains_key(header::ETAG));
}

#[tokio::test]
async fn a_kept_answer_says_how_long_it_may_be_kept() {
    let app = app(Probe::new(StatusCode::OK, Duration::ZERO), 3_000);
    let (_, headers, _) = fetch(&app.router, "/p").await;
    assert_eq!(
        header_of(&headers, header::CACHE_CONTROL),
        Some("public, max-age=2")
    );
}

#[tokio::test]
async fn an_answer_other_than_200_is_not_kept_nor_tagged() {
    let app = app(Probe::new(StatusCode::NOT_FOUND, Duration::ZERO), 5_000);
    let (status, headers, body) = fetch(&app.router, "/p").await;
    fetch(&app.router, "/p").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body, app.probe.body);
    assert_eq!(app.probe.runs(), 2);
    assert!(!headers.contains_key(header::ETAG));
    assert!(!headers.contains_key(header::CACHE_CONTROL));
}

#[tokio::test]
async fn waiters_are_given_the_answer_they_waited_for_even_if_not_a_200() {
    let app = app(
        Probe::new(StatusCode::SERVICE_UNAVAILABLE, Duration::from_millis(100)),
        5_000,
    );
    let mut requests = JoinSet::new();
    for _ in 0..10 {
        let router = app.router.clone();
        requests.spawn(async move { fetch(&router, "/p").await.0 });
    }
    while let Some(status) = requests.join_next().await {
        assert_eq!(
            status.expect("not panicked"),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
    assert_eq!(app.probe.runs(), 1);
    // But not kept: the next request computes it again.
    fetch(&app.router, "/p").await;
    assert_eq!(app.probe.runs(), 2);
}

#[tokio::test]
async fn a_client_holding_the_tag_gets_a_304_without_a_body() {
    let app = app(Probe::new(StatusCode::OK, Duration::ZERO), 5_000);
    let (_, headers, _) = fetch(&app.router, "/p").await;
    let tag = header_of(&headers, header::ETAG).expect("a tag").to_owned();
    assert_eq!(tag.len(), 34, "{tag}");
    let weak = format!("W/{tag}");
    let listed = format!("\"other\", {tag}");
    for condition in [tag.as_str(), &weak, &listed, "*"] {
        let (status, headers, body) =
            get_with(&app.router, "/p", &[("if-none-match", condition)]).await;
        assert_eq!(status, StatusCode::NOT_MODIFIED, "{condition}");
        assert!(body.is_empty());
        assert_eq!(header_of(&headers, header::ETAG), Some(tag.as_str()));
        assert!(
            header_of(&headers, header::CACHE_CONTROL).is_some_and(|c| c.starts_with("public")),
            "{headers:?}"
        );
    }
    let (status, _, body) = get_with(&app.router, "/p", &[("if-none-match", "\"other\"")]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, app.probe.body);
    assert_eq!(outcomes(&app.metrics, "not_modified"), 4.0);
    assert_eq!(app.probe.runs(), 1);
}

#[tokio::test]
async fn a_read_with_a_consistency_token_is_computed_but_still_tagged() {
    let app = app(Probe::new(StatusCode::OK, Duration::ZERO), 5_000);
    let token = [(consistency::HEADER, "v1.0.1")];
    let (_, headers, _) = get_with(&app.router, "/p", &token).await;
    get_with(&app.router, "/p", &token).await;
    assert_eq!(app.probe.runs(), 2);
    assert_eq!(header_of(&headers, header::CACHE_CONTROL), Some("no-cache"));
    let tag = header_of(&headers, header::ETAG).expect("a tag");
    let (status, _, _) = get_with(
        &app.router,
        "/p",
        &[(consistency::HEADER, "v1.0.1"), ("if-none-match", tag)],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert_eq!(outcomes(&app.metrics, "bypass"), 2.0);
    // Nor did those reads fill the cache for the others.
    fetch(&app.router, "/p").await;
    assert_eq!(app.probe.runs(), 4);
}

#[tokio::test]
async fn when_the_leader_is_dropped_a_waiter_computes_the_answer_instead_of_hanging() {
    let mut probe = Probe::new(StatusCode::OK, Duration::ZERO);
    probe.first_delay = Duration::from_secs(3600);
    let app = app(probe, 5_000);
    let router = app.router.clone();
    let leader = tokio::spawn(async move { fetch(&router, "/p").await });
    tokio::time::sleep(Duration::from_millis(20)).await;
    let router = app.router.clone();
    let waiter = tokio::spawn(async move { fetch(&router, "/p").await });
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(app.probe.runs(), 1, "the waiter waits");
    leader.abort();
    let (status, _, body) = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("the waiter is released")
        .expect("not panicked");
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, app.probe.body);
    assert_eq!(app.probe.runs(), 2);
    // And it became the leader: its answer is kept.
    fetch(&app.router, "/p").await;
    assert_eq!(app.probe.runs(), 2);
}

#[tokio::test]
async fn a_ttl_of_zero_turns_the_cache_off_but_not_the_tags() {
    let app = app(Probe::new(StatusCode::OK, Duration::ZERO), 0);
    let (_, headers, _) = fetch(&app.router, "/p").await;
    fetch(&app.router, "/p").await;
    assert_eq!(app.probe.runs(), 2);
    assert_eq!(header_of(&headers, header::CACHE_CONTROL), Some("no-cache"));
    assert!(headers.contains_key(header::ETAG));
}

#[tokio::test]
async fn an_answer_over_the_body_limit_is_passed_on_untagged_and_not_kept() {
    let mut probe = Probe::new(StatusCode::OK, Duration::ZERO);
    probe.body = vec![b' '; MAX_BODY + 1];
    let app = app(probe, 5_000);
    let (status, headers, body) = fetch(&app.router, "/p").await;
    fetch(&app.router, "/p").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.len(), MAX_BODY + 1);
    assert_eq!(app.probe.runs(), 2);
    assert!(!headers.contains_key(header::ETAG));
    assert_eq!(header_of(&headers, header::CACHE_CONTROL), Some("no-cache"));
}

#[tokio::test]
async fn a_head_request_is_passed_on_untouched() {
    let app = app(Probe::new(StatusCode::OK, Duration::ZERO), 5_000);
    let request = Request::head("/p").body(Body::empty()).expect("a request");
    let response = app
        .router
        .clone()
        .oneshot(request)
        .await
        .expect("infallible");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(!response.headers().contains_key(header::ETAG));
    // A HEAD's (empty) answer did not become the GET's.
    let (_, _, body) = fetch(&app.router, "/p").await;
    assert_eq!(body, app.probe.body);
    assert_eq!(app.probe.runs(), 2);
}
