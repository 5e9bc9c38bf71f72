//! The shared cache in the router as the server builds it: it wraps the public routes, and only
//! them. The database is closed, so every public answer is a 503 — never kept, each computed.

mod common;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use balados_auth::{AuthError, Caller, TokenVerifier};
use balados_platform::metrics::Metrics;
use balados_query_api::public_cache;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt as _;

#[derive(Debug)]
struct NoToken;

impl TokenVerifier for NoToken {
    fn verify(&self, _token: &str) -> Result<Caller, AuthError> {
        Err(AuthError::Malformed)
    }
}

async fn app(metrics: &Metrics) -> Router {
    let limits = public_cache::Limits {
        ttl: Duration::from_secs(60),
        max_entries: 16,
    };
    common::closed_database_router(Arc::new(NoToken), limits, metrics).await
}

async fn status(app: &Router, uri: &str) -> StatusCode {
    let request = Request::get(uri)
        .header("authorization", "Bearer x")
        .body(Body::empty())
        .expect("a valid request");
    app.clone()
        .oneshot(request)
        .await
        .expect("infallible")
        .status()
}

/// Requests the cache has seen, whatever their outcome.
fn through_cache(metrics: &Metrics) -> f64 {
    metrics
        .render()
        .lines()
        .filter(|l| l.starts_with("balados_query_public_cache_total{"))
        .map(|l| {
            let value = l.rsplit(' ').next().expect("a value");
            value.parse::<f64>().expect("a number")
        })
        .sum()
}

#[tokio::test]
async fn the_public_routes_go_through_the_cache_and_the_others_do_not() {
    let metrics = Metrics::default();
    let app = app(&metrics).await;
    let public = [
        "/api/v1/public/trending/podcasts",
        "/api/v1/public/trending/episodes?period=week",
        "/api/v1/public/feed/aHR0cHM6Ly9leGFtcGxlLmNvbS9h/popularity",
        "/api/v1/public/episode/ZyxodHRwczovL2V4YW1wbGUuY29tL2EubXAz/popularity",
        "/api/v1/public/timeline",
    ];
    for uri in public {
        assert_eq!(
            status(&app, uri).await,
            StatusCode::SERVICE_UNAVAILABLE,
            "{uri}"
        );
    }
    assert_eq!(through_cache(&metrics), 5.0);
    assert!(
        metrics
            .render()
            .contains("balados_query_public_cache_total{outcome=\"miss\"} 5"),
        "{}",
        metrics.render()
    );
    // A 503 is not kept: asked again, it is computed again (a miss, not a hit).
    status(&app, public[0]).await;
    assert!(
        metrics
            .render()
            .contains("balados_query_public_cache_total{outcome=\"miss\"} 6")
    );
    for uri in [
        "/api/v1/subscriptions",
        "/api/v1/commands/x",
        "/api/v1/public",
    ] {
        assert_ne!(status(&app, uri).await, StatusCode::OK, "{uri}");
    }
    assert_eq!(through_cache(&metrics), 6.0);
}
