//! `GET /api/v1/subscriptions/opml`: the caller's subscriptions as OPML, collections as groups —
//! the same file as the account page's export, the groups only for an app that may read the
//! collections.

use crate::QueryState;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use balados_platform::http::{ApiError, Authenticated};

pub async fn export(
    State(state): State<QueryState>,
    auth: Authenticated,
) -> Result<Response, ApiError> {
    use balados_auth::{Access, Area, Permission};
    let groups = auth
        .caller
        .scopes
        .allows(Permission::Data(Area::Collections, Access::Read));
    let body = balados_platform::opml::export(&state.pool, auth.user.as_str(), groups)
        .await
        .map_err(super::unavailable)?;
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/x-opml; charset=utf-8"),
    );
    Ok(response)
}
