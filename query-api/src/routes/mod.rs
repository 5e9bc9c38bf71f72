//! The read routes, one module per resource.

mod commands;
mod subscriptions;

use crate::QueryState;
use axum::Router;
use axum::routing::get;

pub fn router(state: QueryState) -> Router {
    Router::new()
        .route("/api/v1/subscriptions", get(subscriptions::list))
        .route("/api/v1/commands/{id}", get(commands::get))
        .with_state(state)
}
