//! The HTTP server of a process: the API routers it runs, plus `/healthz`, `/readyz`,
//! `/metrics`, the body limit, a span per request (method and matched route, never the URL, which
//! may carry ids) and request metrics.

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use balados_platform::http::ApiError;
use balados_platform::metrics::{LATENCY_BUCKETS, Metrics};
use balados_platform::readiness::Readiness;
use std::time::{Duration, Instant};
use tracing::Instrument as _;

#[derive(Debug, Clone)]
pub struct Ops {
    pub metrics: Metrics,
    pub readiness: Readiness,
}

pub fn app(
    api: Router,
    ops: Ops,
    body_limit: usize,
    deadline: Duration,
    anonymous: balados_platform::fair_use::AddressLimit,
) -> Router {
    let ops_routes = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(ops.clone());
    api.merge(ops_routes)
        .fallback(balados_platform::http::fallback)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn_with_state(
            anonymous,
            balados_platform::fair_use::limit_by_address,
        ))
        .layer(axum::middleware::from_fn_with_state(
            deadline,
            within_deadline,
        ))
        .layer(axum::middleware::from_fn_with_state(ops.metrics, track))
}

/// Every request, its body included, is served within `deadline`: a client that sends slowly
/// holds a connection and a task for at most that long, then gets a 408 in the error shape.
async fn within_deadline(
    State(deadline): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout(deadline, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            format!(
                "the request was not received and served within {} ms (setting http.request_timeout_ms)",
                deadline.as_millis()
            ),
        )
        .into_response(),
    }
}

/// A method label from a closed set: a client may send any method token, and each new label
/// value would be a new time series.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

async fn readyz(State(ops): State<Ops>) -> Response {
    let waiting = ops.readiness.waiting_for();
    if waiting.is_empty() {
        axum::Json(serde_json::json!({"status": "ready"})).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({"status": "not_ready", "waiting_for": waiting})),
        )
            .into_response()
    }
}

async fn metrics(State(ops): State<Ops>) -> impl IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        ops.metrics.render(),
    )
}

async fn track(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_owned();
    let method = method_label(request.method());
    let span = tracing::info_span!("request", http.method = %method, http.route = %route);
    let started = Instant::now();
    let response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16().to_string();
    let elapsed = started.elapsed();
    span.in_scope(|| tracing::debug!(http.status = %status, duration_ms = elapsed.as_millis() as u64, "request served"));
    let labels = [
        ("route", route.as_str()),
        ("method", method),
        ("status", status.as_str()),
    ];
    metrics.add(
        "balados_http_requests_total",
        "HTTP requests served.",
        &labels,
        1.0,
    );
    // A histogram, so that dashboards can show percentiles per route (p99, not just a mean).
    metrics.observe(
        "balados_http_request_duration_seconds",
        "Time serving HTTP requests, by route and method.",
        LATENCY_BUCKETS,
        &labels[..2],
        elapsed.as_secs_f64(),
    );
    response
}

/// How long a client may take to send a request's headers: a connection that trickles them is
/// closed (the request deadline only starts once the headers are in).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Binds, announces the address on stdout (scripts and tests read it), serves until `shutdown`;
/// then lets each connection finish the request it is serving (HTTP/1.1, keep-alive).
pub async fn serve(
    addr: &str,
    app: Router,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr} (setting http.addr): {e}"))?;
    let local = listener.local_addr()?;
    announce("http", local);
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, say: wait rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        // The peer's address, for the per-address limit of anonymous routes.
        let app = app.clone();
        let service = hyper::service::service_fn(
            move |mut request: hyper::Request<hyper::body::Incoming>| {
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                tower::ServiceExt::oneshot(app.clone(), request)
            },
        );
        let mut stop = shutdown.clone();
        connections.spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT);
            let connection =
                builder.serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => return,
                _ = stop.changed() => connection.as_mut().graceful_shutdown(),
            }
            let _ = connection.await;
        });
        // Finished connections are reaped as we go.
        while connections.try_join_next().is_some() {}
    }
    while connections.join_next().await.is_some() {}
    Ok(())
}

pub fn announce(what: &str, addr: std::net::SocketAddr) {
    use std::io::Write as _;
    tracing::info!(listen.addr = %addr, "{what} listening");
    let mut out = std::io::stdout();
    let _ = writeln!(out, "balados {what} listening on http://{addr}");
    let _ = out.flush();
}
