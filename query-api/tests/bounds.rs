//! The read routes through the router, in process (`oneshot`): paging and cursors beyond their
//! bounds, and ids PostgreSQL could not hold, are answered 422 in the error shape before any query
//! is built. The database here is closed on purpose: a request that gets past the checks answers
//! 503 `unavailable`, which is how these tests see that valid input still goes through.

mod common;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use balados_auth::{AuthError, Caller, TokenVerifier};
use balados_platform::metrics::Metrics;
use balados_query_api::public_cache;
use proptest::prelude::*;
use std::sync::{Arc, LazyLock};
use std::time::Duration;
use tokio::runtime::Runtime;
use tower::ServiceExt as _;

/// Accepts any bearer token as the user it names.
#[derive(Debug)]
struct AnyToken;

impl TokenVerifier for AnyToken {
    fn verify(&self, token: &str) -> Result<Caller, AuthError> {
        Ok(Caller {
            user_id: token.to_owned(),
            app_id: "app".to_owned(),
            device_id: None,
            device_name: None,
            scopes: balados_auth::Scopes::everything(),
            expires_at: i64::MAX,
            grant_version: None,
        })
    }
}

async fn app() -> Router {
    let cache = public_cache::Limits {
        ttl: Duration::from_millis(1000),
        max_entries: 1024,
    };
    common::closed_database_router(Arc::new(AnyToken), cache, &Metrics::default()).await
}

/// Status and error code (if any) of a GET of `path_and_query`.
async fn get(app: &Router, path_and_query: &str) -> (StatusCode, Option<String>) {
    let request = Request::get(path_and_query)
        .header("authorization", "Bearer user-1")
        .body(Body::empty())
        .expect("a valid request");
    let response = app.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("a body");
    let code = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["code"].as_str().map(str::to_owned));
    (status, code)
}

/// base64url of `text`: what a cursor is made of.
fn b64(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

#[tokio::test]
async fn out_of_bounds_paging_cursors_and_ids_are_422_and_the_rest_reaches_the_database() {
    let app = app().await;
    let uuid = "6f1c4b0e-3a52-4c1e-9d0b-2f7a8e5c1d34";
    let cases: Vec<(String, u16, &str)> = vec![
        // Offsets: the bound, and beyond it (for every list that takes one).
        (
            "/api/v1/public/timeline?offset=10000".into(),
            503,
            "unavailable",
        ),
        (
            "/api/v1/public/timeline?offset=10001".into(),
            422,
            "offset_too_large",
        ),
        (
            "/api/v1/play?offset=99999999999999999999".into(),
            422,
            "offset_too_large",
        ),
        (
            "/api/v1/playlists?offset=10001".into(),
            422,
            "offset_too_large",
        ),
        (
            "/api/v1/collections?offset=-1".into(),
            422,
            "invalid_offset",
        ),
        (
            "/api/v1/public/trending/podcasts?limit=101".into(),
            422,
            "invalid_limit",
        ),
        // Cursors: good, malformed, a time PostgreSQL cannot hold, an id it cannot hold.
        (
            format!(
                "/api/v1/public/timeline?cursor={}",
                b64(&format!("0,{uuid}"))
            ),
            503,
            "unavailable",
        ),
        (
            "/api/v1/public/timeline?cursor=%25%25".into(),
            422,
            "invalid_cursor",
        ),
        (
            format!("/api/v1/public/timeline?cursor={}", b64("1,2,3")),
            422,
            "invalid_cursor",
        ),
        (
            format!("/api/v1/public/timeline?cursor={}", b64("1,not-a-uuid")),
            422,
            "invalid_cursor",
        ),
        (
            format!("/api/v1/play?cursor={}", b64("-210866803200000001,aWQ")),
            422,
            "invalid_cursor",
        ),
        (
            format!("/api/v1/play?cursor={}", b64(&format!("{},aWQ", i64::MAX))),
            422,
            "invalid_cursor",
        ),
        (
            format!("/api/v1/play?cursor={}", b64("-210866803200000000,aWQ")),
            503,
            "unavailable",
        ),
        (
            format!("/api/v1/play?cursor={}", b64("1,a\0b")),
            422,
            "invalid_cursor",
        ),
        (
            format!(
                "/api/v1/play?cursor={}",
                b64(&format!("1,{}", "a".repeat(5000)))
            ),
            422,
            "invalid_cursor",
        ),
        (
            format!("/api/v1/play?offset=0&cursor={}", b64("1,aWQ")),
            422,
            "invalid_paging",
        ),
        // Ids PostgreSQL could not hold, as a filter and in a path.
        (
            "/api/v1/public/timeline?user_id=a%00b".into(),
            422,
            "invalid_user_id",
        ),
        (
            "/api/v1/public/timeline?user_id=ada".into(),
            503,
            "unavailable",
        ),
        ("/api/v1/playlists/a%00b".into(), 422, "invalid_id"),
        (
            format!("/api/v1/collections/{}", "c".repeat(65)),
            422,
            "invalid_id",
        ),
        ("/api/v1/collections/default".into(), 503, "unavailable"),
        // Path segments that are not UTF-8 once percent-decoded: axum's plain-text 400 otherwise.
        ("/api/v1/playlists/%FF".into(), 422, "invalid_path"),
        (
            "/api/v1/public/feed/%FF/popularity".into(),
            422,
            "invalid_path",
        ),
        ("/api/v1/commands/%C3".into(), 422, "invalid_path"),
    ];
    for (path, status, code) in cases {
        let (got_status, got_code) = get(&app, &path).await;
        assert_eq!(
            (got_status.as_u16(), got_code.as_deref()),
            (status, Some(code)),
            "{path}"
        );
    }
}

/// Query strings a client might send: any characters, percent-encoded or not, under the names
/// the routes read.
fn query_string() -> impl Strategy<Value = String> {
    let name = prop::sample::select(vec![
        "limit",
        "offset",
        "cursor",
        "played",
        "feed",
        "item",
        "user_id",
        "event_type",
        "period",
    ]);
    let value = prop_oneof![
        // The characters a URI may hold as they are ('%' not always followed by hex digits).
        "[A-Za-z0-9._~!$&'()*+,;=:@/?%-]{0,40}",
        prop::collection::vec(any::<u8>(), 0..40)
            .prop_map(|b| b.iter().map(|b| format!("%{b:02X}")).collect::<String>()),
        "-?[0-9]{1,30}",
    ];
    prop::collection::vec((name, value), 0..5).prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    })
}

static RUNTIME: LazyLock<Runtime> = LazyLock::new(|| Runtime::new().expect("a runtime"));
static APP: LazyLock<Router> = LazyLock::new(|| RUNTIME.block_on(app()));

/// A path segment: URI characters and percent-encoded bytes of any value, never empty.
fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9._~!$&'()*+,;=:@%-]{1,40}",
        prop::collection::vec(any::<u8>(), 1..40)
            .prop_map(|b| b.iter().map(|b| format!("%{b:02X}")).collect::<String>()),
    ]
}

/// 422 with one of the parameter checks' codes, or 503: the request reached the (closed) database.
fn checked_or_reached_the_database(
    uri: &str,
    status: StatusCode,
    code: Option<&str>,
) -> Result<(), TestCaseError> {
    match status.as_u16() {
        422 => prop_assert!(
            code.is_some_and(|c| c.starts_with("invalid_") || c == "offset_too_large"),
            "{}: {:?}",
            uri,
            code
        ),
        503 => prop_assert_eq!(code, Some("unavailable"), "{}", uri),
        other => prop_assert!(false, "{}: {} {:?}", uri, other, code),
    }
    Ok(())
}

proptest! {
    #[test]
    fn fuzz_any_query_string_is_a_422_in_the_error_shape_or_reaches_the_database(
        route in prop::sample::select(vec![
            "/api/v1/play",
            "/api/v1/playlists",
            "/api/v1/collections",
            "/api/v1/public/timeline",
            "/api/v1/public/trending/podcasts",
            "/api/v1/public/trending/episodes",
        ]),
        query in query_string(),
    ) {
        let uri = format!("{route}?{query}");
        // Built outside block_on: building it blocks on the runtime too.
        let app: &Router = &APP;
        let (status, code) = RUNTIME.block_on(get(app, &uri));
        checked_or_reached_the_database(&uri, status, code.as_deref())?;
    }

    #[test]
    fn fuzz_any_path_id_is_a_422_in_the_error_shape_or_reaches_the_database(
        route in prop::sample::select(vec![
            "/api/v1/playlists/{}",
            "/api/v1/collections/{}",
            "/api/v1/commands/{}",
            "/api/v1/public/feed/{}/popularity",
            "/api/v1/public/episode/{}/popularity",
        ]),
        segment in segment(),
    ) {
        let uri = route.replace("{}", &segment);
        let app: &Router = &APP;
        let (status, code) = RUNTIME.block_on(get(app, &uri));
        checked_or_reached_the_database(&uri, status, code.as_deref())?;
    }
}
