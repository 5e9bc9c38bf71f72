//! `Authenticated`: the extractor every route that needs a caller takes first, so that no handler
//! can forget the token, and none runs (waits, parses a body, reads the database) before it is
//! verified.

use super::ApiError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use balados_auth::{AuthError, Caller, Permission, TokenVerifier};
use balados_schemas::{DeviceId, Name, UserId};

/// A state that can verify tokens (and admit their callers: see `crate::fair_use`).
pub trait Verifies {
    fn verifier(&self) -> &dyn TokenVerifier;
}

/// The verified caller: a valid token whose subject is a user id and whose device fields are
/// within the bounds every command carries them in.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub caller: Caller,
    pub user: UserId,
    pub device_id: Option<DeviceId>,
    pub device_name: Option<Name>,
}

impl<S: Verifies + Send + Sync> FromRequestParts<S> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // A middleware that had to authenticate first (to refuse before waiting) left it here.
        if let Some(done) = parts.extensions.get::<Authenticated>() {
            return Ok(done.clone());
        }
        authenticate_caller(&parts.headers, state.verifier())
    }
}

/// Verifies the `Authorization: Bearer` token of a request (the extractor's work, for the few
/// places that are not handlers, such as a middleware).
pub fn authenticate_caller(
    headers: &axum::http::HeaderMap,
    verifier: &dyn TokenVerifier,
) -> Result<Authenticated, ApiError> {
    let header = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let caller = balados_auth::bearer(header)
        .and_then(|token| verifier.verify(token))
        .map_err(|e| match e {
            AuthError::RateLimited {
                retry_after_secs, ..
            } => ApiError::rate_limited(e.to_string(), retry_after_secs),
            other => ApiError::unauthorized(other.code(), other.to_string()),
        })?;
    let invalid = |what: String| ApiError::unauthorized("invalid_token", what);
    let user = UserId::parse(&caller.user_id)
        .map_err(|e| invalid(format!("token subject is not a valid user id: {e}")))?;
    let device_id = caller
        .device_id
        .as_deref()
        .map(DeviceId::parse)
        .transpose()
        .map_err(|e| invalid(format!("token device_id {e}")))?;
    let device_name = caller
        .device_name
        .as_deref()
        .map(Name::parse_optional)
        .transpose()
        .map_err(|e| invalid(format!("token device_name {e}")))?
        .flatten();
    Ok(Authenticated {
        caller,
        user,
        device_id,
        device_name,
    })
}

/// The middleware of a route that needs `permission`: the caller authenticated (else 401) and
/// granted the scope (else 403 `insufficient_scope`), then handed to the handler's
/// [`Authenticated`] (verified and counted once).
pub async fn require<S: Verifies + Send + Sync>(
    axum::extract::State((state, permission)): axum::extract::State<(S, Permission)>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let auth = match request.extensions().get::<Authenticated>() {
        Some(done) => done.clone(),
        None => match authenticate_caller(request.headers(), state.verifier()) {
            Ok(auth) => auth,
            Err(refused) => return refused.into_response(),
        },
    };
    if !auth.caller.scopes.allows(permission) {
        return ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "insufficient_scope",
            format!("the user did not grant this app {permission}"),
        )
        .into_response();
    }
    request.extensions_mut().insert(auth);
    next.run(request).await
}

/// `method` behind [`require`]: how a route declares the permission it needs.
pub fn needs<S>(
    method: axum::routing::MethodRouter<S>,
    state: &S,
    permission: Permission,
) -> axum::routing::MethodRouter<S>
where
    S: Verifies + Clone + Send + Sync + 'static,
{
    method.route_layer(axum::middleware::from_fn_with_state(
        (state.clone(), permission),
        require::<S>,
    ))
}
