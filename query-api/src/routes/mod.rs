//! The read routes, one module per resource.

mod subscriptions;

use crate::QueryState;
use axum::Router;
use axum::routing::get;

pub fn router(state: QueryState) -> Router {
    Router::new()
        .route("/api/v1/subscriptions", get(subscriptions::list))
        .with_state(state)
}
