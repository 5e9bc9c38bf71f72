//! The read routes, one module per resource.

mod commands;
mod params;
mod plays;
mod privacy;
mod subscriptions;

use crate::QueryState;
use axum::Router;
use axum::routing::get;

pub fn router(state: QueryState) -> Router {
    Router::new()
        .route("/api/v1/subscriptions", get(subscriptions::list))
        .route("/api/v1/commands/{id}", get(commands::get))
        .route("/api/v1/play", get(plays::list))
        .route("/api/v1/privacy", get(privacy::list))
        .with_state(state)
}
