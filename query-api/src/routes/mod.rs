//! The read routes, one module per resource.

mod collections;
mod commands;
#[cfg(test)]
mod fuzz;
mod params;
mod playlists;
mod plays;
mod privacy;
mod public;
mod query;
mod subscriptions;

use crate::QueryState;
use axum::Router;
use axum::routing::get;
use balados_platform::http::ApiError;

pub fn router(state: QueryState) -> Router {
    Router::new()
        .route("/api/v1/subscriptions", get(subscriptions::list))
        .route("/api/v1/commands/{id}", get(commands::get))
        .route("/api/v1/play", get(plays::list))
        .route("/api/v1/privacy", get(privacy::list))
        .route("/api/v1/playlists", get(playlists::list))
        .route("/api/v1/playlists/{id}", get(playlists::get))
        .route("/api/v1/collections", get(collections::list))
        .route("/api/v1/collections/{id}", get(collections::get))
        .route(
            "/api/v1/public/trending/podcasts",
            get(public::trending_podcasts),
        )
        .route(
            "/api/v1/public/trending/episodes",
            get(public::trending_episodes),
        )
        .route(
            "/api/v1/public/feed/{feed}/popularity",
            get(public::feed_popularity),
        )
        .route(
            "/api/v1/public/episode/{item}/popularity",
            get(public::episode_popularity),
        )
        .route("/api/v1/public/timeline", get(public::timeline))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::consistency::wait_for_token,
        ))
        .with_state(state)
}

/// A read model that cannot be read: logged, and a 503 with the error shape.
fn unavailable(e: sqlx::Error) -> ApiError {
    tracing::error!(error = %e, "reading a read model failed");
    ApiError::unavailable("the read model is unavailable; retry later")
}
