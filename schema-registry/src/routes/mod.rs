//! The HTTP surface: the subset of Confluent's REST API that Confluent clients use.

mod compatibility;
mod config;
pub(crate) mod extract;
pub(crate) mod response;
mod schemas;
mod subjects;
mod versions;

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tower_http::trace::TraceLayer;

use crate::Registry;
use crate::error::RegistryError;
use crate::routes::response::Confluent;

/// All routes, with Confluent-shaped answers for unknown paths and methods too.
pub fn router(registry: Registry) -> Router {
    Router::new()
        .route("/", get(root))
        .route("/healthz", get(root))
        .route("/schemas/types", get(schemas::types))
        .route("/schemas/ids/{id}", get(schemas::by_id))
        .route("/schemas/ids/{id}/schema", get(schemas::raw_by_id))
        .route("/schemas/ids/{id}/versions", get(schemas::versions))
        .route("/subjects", get(subjects::list))
        .route(
            "/subjects/{subject}",
            post(subjects::lookup).delete(subjects::delete),
        )
        .route(
            "/subjects/{subject}/versions",
            get(versions::list).post(versions::register),
        )
        .route(
            "/subjects/{subject}/versions/{version}",
            get(versions::get).delete(versions::delete),
        )
        .route(
            "/subjects/{subject}/versions/{version}/schema",
            get(versions::raw),
        )
        .route(
            "/compatibility/subjects/{subject}/versions",
            post(compatibility::against_all),
        )
        .route(
            "/compatibility/subjects/{subject}/versions/{version}",
            post(compatibility::against_version),
        )
        .route("/config", get(config::get_global).put(config::put_global))
        .route(
            "/config/{subject}",
            get(config::get_subject)
                .put(config::put_subject)
                .delete(config::delete_subject),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
            // The route template, not the URI, so that spans group by endpoint.
            let route = request
                .extensions()
                .get::<MatchedPath>()
                .map(MatchedPath::as_str);
            tracing::info_span!("http.request", http.method = %request.method(), http.route = route)
        }))
        .with_state(registry)
}

/// `GET /` answers `{}` like Confluent; clients use it as a liveness probe.
async fn root() -> Confluent<Value> {
    Confluent(json!({}))
}

async fn not_found() -> RegistryError {
    RegistryError::RouteNotFound
}

async fn method_not_allowed() -> RegistryError {
    RegistryError::MethodNotAllowed
}
