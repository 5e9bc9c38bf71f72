//! A write API over a recorder: the router as a process builds it, a verifier over the test key.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use balados_app::http::{Ops, app};
use balados_auth::{
    AuthError, Caller, Claims, Scopes, StaticKeyVerifier, TokenVerifier, mint_token,
};
use balados_ingest::{CommandSink, IngestState, ProduceError, Replies};
use balados_platform::fair_use::{AddressLimit, Rate, RateLimiter};
use balados_platform::metrics::Metrics;
use balados_platform::readiness::Readiness;
use balados_schemas::CommandEnvelope;
use base64::Engine as _;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tower::ServiceExt as _;

const KEY: &[u8] = include_bytes!("../../../auth/tests/fixtures/private/test-app.key.pem");
const OTHER_KEY: &[u8] = include_bytes!("../../../auth/tests/fixtures/private/other.key.pem");

/// Keeps what the ingest produces; refuses everything while `down`.
#[derive(Debug, Default)]
pub struct Recorder {
    pub commands: Mutex<Vec<CommandEnvelope>>,
    pub down: AtomicBool,
}

impl CommandSink for Recorder {
    fn send<'a>(
        &'a self,
        command: &'a CommandEnvelope,
    ) -> futures::future::BoxFuture<'a, Result<(), ProduceError>> {
        Box::pin(async move {
            if self.down.load(Ordering::SeqCst) {
                return Err(ProduceError::Kafka(
                    rdkafka::error::KafkaError::MessageProduction(
                        rdkafka::types::RDKafkaErrorCode::MessageTimedOut,
                    ),
                ));
            }
            self.commands
                .lock()
                .expect("not poisoned")
                .push(command.clone());
            Ok(())
        })
    }
}

/// The test app's key, its caller holding only `scopes` (as a user's grant would).
#[derive(Debug)]
struct Granted {
    inner: StaticKeyVerifier,
    scopes: Scopes,
}

impl TokenVerifier for Granted {
    fn verify(&self, token: &str) -> Result<Caller, AuthError> {
        let mut caller = self.inner.verify(token)?;
        caller.scopes = self.scopes.clone();
        Ok(caller)
    }
}

pub struct Api {
    pub router: Router,
    pub recorder: Arc<Recorder>,
    pub replies: Replies,
}

impl Api {
    pub fn new() -> Self {
        Self::granted("user")
    }

    /// An API whose callers' app holds only `scopes` (space-separated).
    pub fn granted(scopes: &str) -> Self {
        let recorder = Arc::new(Recorder::default());
        let fixtures = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../auth/tests/fixtures"
        ));
        let verifier = Granted {
            inner: StaticKeyVerifier::from_dir(fixtures).expect("the test app's key"),
            scopes: Scopes::parse(scopes).expect("known scopes"),
        };
        let replies = Replies::local("test-ingest".into());
        let state = IngestState {
            producer: recorder.clone(),
            verifier: Arc::new(verifier),
            metrics: Metrics::default(),
            replies: replies.clone(),
            writes: None,
        };
        let ops = Ops {
            metrics: Metrics::default(),
            readiness: Readiness::default(),
        };
        let off = Rate {
            per_second: 0.0,
            burst: 1,
        };
        let anonymous = AddressLimit {
            limiter: Arc::new(RateLimiter::new(off, 10)),
            logins: Arc::new(RateLimiter::new(off, 10)),
            metrics: Metrics::default(),
        };
        let router = app(
            balados_ingest::router(state),
            ops,
            1024 * 1024,
            Duration::from_secs(30),
            anonymous,
        );
        Self {
            router,
            recorder,
            replies,
        }
    }

    /// Sends a request as `user` (or without a token); the status and the JSON body.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<String>,
        body: Option<serde_json::Value>,
    ) -> (StatusCode, serde_json::Value) {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let body = match body {
            Some(json) => {
                request = request.header("content-type", "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        self.raw(request.body(body).expect("a request")).await
    }

    pub async fn raw(&self, request: Request<Body>) -> (StatusCode, serde_json::Value) {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("a body");
        let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        (status, json)
    }

    pub fn produced(&self) -> Vec<CommandEnvelope> {
        self.recorder.commands.lock().expect("not poisoned").clone()
    }
}

pub fn token(user: &str) -> Option<String> {
    Some(token_with(KEY, user, 300, None))
}

pub fn token_with(key: &[u8], user: &str, ttl_s: i64, device_id: Option<&str>) -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = Claims {
        iss: "test-app".into(),
        sub: user.into(),
        exp: now + ttl_s,
        iat: Some(now),
        device_id: device_id.map(str::to_owned),
        device_name: None,
    };
    mint_token(key, &claims).expect("mints")
}

pub fn forged(user: &str) -> Option<String> {
    Some(token_with(OTHER_KEY, user, 300, None))
}

pub fn b64(text: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

pub fn feed() -> String {
    b64("https://feeds.example.com/show.xml")
}

pub fn item() -> String {
    b64("guid-1,https://cdn.example.com/1.mp3")
}
