//! `POST /api/v1/sync` and its continuation `GET /api/v1/sync?since=` in process: the `user.sync`
//! scope, then every bad value refused with its code before anything is produced or read (the read
//! models are never reached: the pool connects to nothing).

use crate::helpers::{Recorder, feed, item, token};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use balados_auth::{AuthError, Caller, Scopes, StaticKeyVerifier, TokenVerifier};
use balados_ingest::{IngestState, Replies, SyncState};
use balados_platform::metrics::Metrics;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt as _;

/// The test app's key, its caller holding only `scopes`.
#[derive(Debug)]
struct Granted(StaticKeyVerifier, Scopes);

impl TokenVerifier for Granted {
    fn verify(&self, token: &str) -> Result<Caller, AuthError> {
        let mut caller = self.0.verify(token)?;
        caller.scopes = self.1.clone();
        Ok(caller)
    }
}

fn router(scopes: &str, recorder: Arc<Recorder>) -> axum::Router {
    let fixtures = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../auth/tests/fixtures"
    ));
    let verifier = Granted(
        StaticKeyVerifier::from_dir(fixtures).expect("the test app's key"),
        Scopes::parse(scopes).expect("known scopes"),
    );
    let ingest = IngestState {
        producer: recorder,
        verifier: Arc::new(verifier),
        metrics: Metrics::default(),
        replies: Replies::local("test-ingest".into()),
        writes: None,
    };
    let readers = sqlx::PgPool::connect_lazy("postgres://nobody@127.0.0.1:1/none").expect("lazy");
    let consistency = balados_query_api::Consistency::start(
        readers.clone(),
        "materializer".into(),
        "events".into(),
        Duration::from_millis(10),
    );
    balados_ingest::sync_router(SyncState {
        ingest,
        readers,
        consistency,
    })
}

async fn post(router: &axum::Router, body: Value) -> (StatusCode, Value) {
    let request = Request::post("/api/v1/sync")
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .expect("a request");
    send(router, request).await
}

async fn get(router: &axum::Router, path: &str) -> (StatusCode, Value) {
    let request = Request::get(path).body(Body::empty()).expect("a request");
    send(router, request).await
}

async fn send(router: &axum::Router, mut request: Request<Body>) -> (StatusCode, Value) {
    let bearer = format!("Bearer {}", token("ann").expect("a token"));
    request
        .headers_mut()
        .insert("authorization", bearer.parse().expect("a header value"));
    let response = router.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("a body");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn a_sync_needs_the_sync_scope() {
    let recorder = Arc::new(Recorder::default());
    let router = router(
        "user.plays.write user.subscriptions.write",
        recorder.clone(),
    );
    let (status, answer) = post(&router, json!({})).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("insufficient_scope")),
        "{answer}"
    );
    let (status, answer) = get(&router, "/api/v1/sync?since=5.7").await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("insufficient_scope")),
        "{answer}"
    );
    assert!(recorder.commands.lock().expect("not poisoned").is_empty());
}

#[tokio::test]
async fn a_continuation_needs_a_token_we_sent() {
    let recorder = Arc::new(Recorder::default());
    let router = router("user.sync", recorder.clone());
    for path in [
        "/api/v1/sync",
        "/api/v1/sync?since=",
        "/api/v1/sync?since=yesterday",
        "/api/v1/sync?since=5.7.x9",
        "/api/v1/sync?since=5.7.s%25%25",
    ] {
        let (status, answer) = get(&router, path).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_sync_token")),
            "{path}: {answer}"
        );
    }
    assert!(recorder.commands.lock().expect("not poisoned").is_empty());
}

#[tokio::test]
async fn every_bad_value_is_refused_with_its_code_and_nothing_is_produced() {
    let recorder = Arc::new(Recorder::default());
    let router = router("user.sync", recorder.clone());
    let play = |change: Value| {
        let mut p = json!({"rss_source_feed": feed(), "rss_source_item": item(),
            "position": 1, "updated_at": "2026-01-01T00:00:00Z"});
        if let (Some(p), Some(change)) = (p.as_object_mut(), change.as_object()) {
            p.extend(change.clone());
        }
        json!({"play_statuses": [p]})
    };
    let list = |id: &str, name: &str| json!({"playlists": [{"id": id, "name": name, "updated_at": "2026-01-01T00:00:00Z"}]});
    let many: Vec<Value> = (0..2_001)
        .map(|_| play(json!({}))["play_statuses"][0].clone())
        .collect();
    for (body, code) in [
        (json!({"last_sync": "yesterday"}), "invalid_sync_token"),
        (json!({"last_sync": "-5.7"}), "invalid_sync_token"),
        (json!({"last_sync": "1764540000"}), "invalid_sync_token"),
        (
            json!({"subscriptions": [{"rss_source_feed": "%%"}]}),
            "invalid_feed_id",
        ),
        (play(json!({"rss_source_item": "%%"})), "invalid_item_id"),
        (
            play(json!({"updated_at": "yesterday"})),
            "invalid_timestamp",
        ),
        (play(json!({"position": -1})), "invalid_position"),
        (play(json!({"duration": 1_i64 << 40})), "invalid_duration"),
        (list("not an id", "n"), "invalid_id"),
        (list("p1", "  "), "invalid_name"),
        (json!({"play_statuses": many}), "sync_too_large"),
        (
            json!({"play_statuses": [{"rss_source_feed": feed()}]}),
            "invalid_body",
        ),
    ] {
        let (status, answer) = post(&router, body).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(code)),
            "{answer}"
        );
    }
    assert!(recorder.commands.lock().expect("not poisoned").is_empty());
}
