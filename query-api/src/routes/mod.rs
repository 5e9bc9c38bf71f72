//! The read routes, one module per resource.

mod collections;
mod commands;
#[cfg(test)]
mod fuzz;
mod opml;
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
use balados_platform::http::{ApiError, needs};

/// Every read route: a user's own data with the permission it needs (the caller's app must hold
/// the scope; an outcome of one's own command needs only the token), public statistics without.
/// A consistency token makes any of them wait, public ones included (the public models are
/// written by the same materializer).
pub fn router(state: QueryState) -> Router {
    use balados_auth::{Access::Read, Area, Permission::Data};
    let s = &state;
    let playlists_scope = Data(Area::Playlists, Read);
    let collections_scope = Data(Area::Collections, Read);
    Router::new()
        .route(
            "/api/v1/subscriptions",
            needs(get(subscriptions::list), s, Data(Area::Subscriptions, Read)),
        )
        .route(
            "/api/v1/subscriptions/opml",
            needs(get(opml::export), s, Data(Area::Subscriptions, Read)),
        )
        .route("/api/v1/commands/{id}", get(commands::get))
        .route(
            "/api/v1/play",
            needs(get(plays::list), s, Data(Area::Plays, Read)),
        )
        .route(
            "/api/v1/privacy",
            needs(get(privacy::list), s, Data(Area::Privacy, Read)),
        )
        .route(
            "/api/v1/playlists",
            needs(get(playlists::list), s, playlists_scope),
        )
        .route(
            "/api/v1/playlists/{id}",
            needs(get(playlists::get), s, playlists_scope),
        )
        .route(
            "/api/v1/collections",
            needs(get(collections::list), s, collections_scope),
        )
        .route(
            "/api/v1/collections/{id}",
            needs(get(collections::get), s, collections_scope),
        )
        .merge(public_routes(s))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::consistency::wait_for_token,
        ))
        .with_state(state)
}

/// The public statistics, the same for everyone: served through the shared cache.
fn public_routes(state: &QueryState) -> Router<QueryState> {
    Router::new()
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
        // Not `layer`, which would also wrap this router's fallback, and through `merge` every
        // unmatched path of the server.
        .route_layer(axum::middleware::from_fn_with_state(
            state.public_cache.clone(),
            crate::public_cache::serve,
        ))
}

/// A read model that cannot be read: logged, and a 503 with the error shape.
fn unavailable(e: sqlx::Error) -> ApiError {
    tracing::error!(error = %e, "reading a read model failed");
    ApiError::unavailable("the read model is unavailable; retry later")
}
