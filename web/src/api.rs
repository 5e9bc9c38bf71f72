//! `GET /api/v1/apps` and `DELETE /api/v1/apps/{id}`: a user's authorized apps, for any of them.
//! Any valid token lists them; an app may revoke itself, and only an app holding every scope (the
//! user's own tools) may revoke another — an app granted plays must not be able to cut the
//! user's other apps off.

use crate::WebState;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use balados_accounts::AuthorizationError;
use balados_auth::Permission;
use balados_platform::http::{ApiError, Authenticated, Json};
use chrono::{DateTime, Utc};
use serde::Serialize;

pub fn router() -> Router<WebState> {
    Router::new()
        .route("/api/v1/apps", get(list))
        .route("/api/v1/apps/{id}", axum::routing::delete(revoke))
}

#[derive(Debug, Serialize)]
struct App {
    app_id: String,
    name: String,
    scopes: String,
    authorized_at: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
struct Apps {
    apps: Vec<App>,
}

fn unavailable(e: AuthorizationError) -> ApiError {
    tracing::warn!(error = %e, "app authorizations unavailable");
    ApiError::unavailable("the apps cannot be read right now; retry later")
}

async fn list(State(state): State<WebState>, auth: Authenticated) -> Result<Json<Apps>, ApiError> {
    let apps = state
        .authorizations
        .list(auth.user.as_str())
        .await
        .map_err(unavailable)?
        .into_iter()
        .map(|a| App {
            app_id: a.app_id,
            name: a.app_name,
            scopes: a.scopes,
            authorized_at: a.authorized_at,
        })
        .collect();
    Ok(Json(Apps { apps }))
}

async fn revoke(
    State(state): State<WebState>,
    auth: Authenticated,
    Path(app_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let everything = Permission::all().all(|p| auth.caller.scopes.allows(p));
    if app_id != auth.caller.app_id && !everything {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "an app may revoke itself; revoking another app needs every scope (or the account's pages)",
        ));
    }
    match state
        .authorizations
        .revoke(auth.user.as_str(), &app_id)
        .await
    {
        Ok(()) => {
            state.refresh_grants().await;
            Ok(StatusCode::NO_CONTENT)
        }
        Err(AuthorizationError::NotFound) => Err(ApiError::not_found(
            "no such app is authorized for this user",
        )),
        Err(e) => Err(unavailable(e)),
    }
}
